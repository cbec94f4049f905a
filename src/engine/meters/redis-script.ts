// The Lua script behind one meter-store call. It is semantics.ts (`evaluateCall`) plus the recording
// of memory.ts, run atomically inside Redis: read every bucket, check the requirement, judge the
// consumption all or nothing, record. The shared table in test/engine/meters/semantics-cases.ts
// holds both implementations to the same answers.
//
// KEYS: every key the call may touch (built in redis.ts; all under one hash tag): per counter and
// period, its count key and, with a resource, the resource set key after it; the grants hash last.
// ARGV[1]: one JSON array of numbers, read by position (a flat array decodes into a single table;
// the former nested JSON object cost more than the rest of a typical call, and one bulk string per
// number cost the gateway more to encode than the decoding costs Redis):
//   [1] B buckets (counter periods, in call order)  [2] Q requirements  [3] K consumptions
//   [4] dryRun 1/0  [5] G plans assumed granted, or -1 when the grants are not read  [6] now (ms)
//   then 4 per bucket: count key index, set key index (0: no resource), ttl ms (0: none), the ARGV
//   index of its resource hash (0: none),
//   then 3 per requirement: bucket, limit, uniqueResources 1/0,
//   then 7 per consumption: its counter's first bucket and bucket count, units, the meter's bucket
//   (-1: no meter), limit, uniqueResources 1/0, allowPartial 1/0 (the last three 0 without a meter).
// ARGV[2..G+1]: the assumed plan names (sorted); then each counter's resource hash, if it has one.
// Buckets are numbered from 1 across all counters; bucket 0 is "not read": 0 usage, not seen (semantics.ts).
// A count is written with SET (PX ttl when its bucket has one) from the value read above plus n, kept
// within 0..MAX_COUNTER_VALUE (as memory.ts does): INCRBY would fail on a 64-bit overflow, and Lua
// formats a large n as 1e+15, which no command takes (hence string.format('%d')).
// Returns one flat array: requirementMet 0/1, grantsChanged 0/1, the number of unexpired grants, the
// JSON of each (HGETALL order), then usage and seen 0/1 per bucket (before this call), then granted
// 0/1, units, excess, free 0/1 per consumption.
// Grants (semantics.ts `checkGrants`): a grant whose expiresAt is a number <= now has expired: it is ignored,
// and deleted unless the call is dry. When the unexpired plans are not the assumed ones, nothing is
// judged nor recorded. The reply is built in place (one table; usage is read back from it) because
// every Lua table a call makes is a measurable part of its cost.
import { MAX_COUNTER_VALUE } from './store.js';

/**
 * The new-id budget (docs/redis.md, "Anonymous floods"). KEYS: the network's counter and the total's.
 * ARGV: per-network limit, total limit, milliseconds to keep the counters. Counts one new id in both
 * and returns 1, or returns 0 and counts nothing when either budget is spent (so a flood that is
 * refused writes nothing).
 */
export const NEW_ID_SCRIPT = `
local network = tonumber(redis.call('GET', KEYS[1]) or '0')
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
if network >= tonumber(ARGV[1]) or total >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], network + 1, 'PX', ARGV[3])
redis.call('SET', KEYS[2], total + 1, 'PX', ARGV[3])
return 1
`;

export const METER_SCRIPT = `
local MAX_COUNT = ${MAX_COUNTER_VALUE}
local N, K, S = cjson.decode(ARGV[1]), KEYS, ARGV
local nb, nq, nk, ng = N[1], N[2], N[3], N[5]
local dry = N[4] == 1
local reply = { 0, 0, 0 }
local at = 3
local changed = false
if ng >= 0 then
  local gk = K[#K]
  local raw = redis.call('HGETALL', gk)
  if #raw == 0 then
    changed = ng ~= 0
  else
    local t = N[6]
    local plans = {}
    for i = 1, #raw, 2 do
      local e = cjson.decode(raw[i + 1]).expiresAt
      if type(e) == 'number' and e <= t then
        if not dry then redis.call('HDEL', gk, raw[i]) end
      else
        plans[#plans + 1] = raw[i]
        at = at + 1
        reply[at] = raw[i + 1]
      end
    end
    table.sort(plans)
    if #plans ~= ng then changed = true end
    for i = 1, #plans do
      if S[1 + i] ~= plans[i] then changed = true end
    end
  end
  reply[2], reply[3] = changed and 1 or 0, at - 3
end

-- Bucket b's usage is reply[u0 + 2b], its seen flag reply[u0 + 2b + 1].
local u0 = at - 1
local b0 = 6
local p = b0
for b = 1, nb do
  local used = tonumber(redis.call('GET', K[N[p + 1]]) or '0')
  local seen = 0
  local s = N[p + 2]
  if s ~= 0 and redis.call('SISMEMBER', K[s], S[N[p + 4]]) == 1 then seen = 1 end
  reply[at + 1], reply[at + 2] = used, seen
  at = at + 2
  p = p + 4
end

local met = not changed
for _ = 1, nq do
  local b = N[p + 1]
  local used, seen = 0, false
  if b ~= 0 then used, seen = reply[u0 + 2 * b], reply[u0 + 2 * b + 1] == 1 end
  if not (used < N[p + 2] or (N[p + 3] == 1 and seen)) then met = false end
  p = p + 3
end

-- Consumption i's result is reply[r0 + 4i - 3 .. r0 + 4i]; its numbers start at N[k0 + 7i - 6].
local r0, k0 = at, p
local allGranted = met
if met then
  for _ = 1, nk do
    local n, mb = N[p + 3], N[p + 4]
    if mb < 0 then
      reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4] = 1, n, 0, 0
    else
      local used, seen = 0, false
      if mb ~= 0 then used, seen = reply[u0 + 2 * mb], reply[u0 + 2 * mb + 1] == 1 end
      local l = N[p + 5]
      if N[p + 6] == 1 and seen then
        reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4] = 1, 0, 0, 1
      elseif used + n <= l then
        reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4] = 1, n, 0, 0
      elseif N[p + 7] == 1 and used < l then
        reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4] = 1, l - used, n - (l - used), 0
      else
        allGranted = false
        break
      end
    end
    at = at + 4
    p = p + 7
  end
end
if not allGranted then
  at, p = r0, k0
  for _ = 1, nk do
    reply[at + 1], reply[at + 2], reply[at + 3], reply[at + 4] = 0, 0, math.max(N[p + 3], 0), 0
    at = at + 4
    p = p + 7
  end
end

if allGranted and not dry then
  -- Counts as written so far, when a later consumption may add to the same bucket.
  local written = nk > 1 and {} or nil
  for i = 1, nk do
    local n = reply[r0 + 4 * i - 2]
    if n ~= 0 then
      local kp = k0 + 7 * i - 7
      local first = N[kp + 1]
      for b = first, first + N[kp + 2] - 1 do
        local bp = b0 + 4 * b - 4
        local key, ttl = K[N[bp + 1]], N[bp + 3]
        local timed = ttl > 0
        local v = written and written[b] or reply[u0 + 2 * b]
        v = math.min(math.max(v + n, 0), MAX_COUNT)
        if written then written[b] = v end
        -- SET with PX: the value and its TTL in one command (without a TTL, SET drops any old one).
        if v == 0 then
          redis.call('DEL', key)
        elseif timed then
          redis.call('SET', key, string.format('%d', v), 'PX', ttl)
        else
          redis.call('SET', key, string.format('%d', v))
        end
        local s = N[bp + 2]
        if n > 0 and s ~= 0 then
          redis.call('SADD', K[s], S[N[bp + 4]])
          if timed then redis.call('PEXPIRE', K[s], ttl) end
        end
      end
    end
  end
end

reply[1] = met and 1 or 0
return reply
`;
