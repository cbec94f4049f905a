// The Lua script behind one meter-store call. It is semantics.ts (`evaluateCall`) plus the recording
// of memory.ts, run atomically inside Redis: read every bucket, check the requirement, judge the
// consumption all or nothing, record. The shared table in test/engine/meters/semantics-cases.ts
// holds both implementations to the same answers.
//
// KEYS: every bucket key the call may touch (built in redis.ts; all under one hash tag).
// ARGV[1]: JSON
//   c: counters, in call order: { b: [[countKeyIndex, setKeyIndex or 0, ttlMs or 0], ...per period], r?: resourceHash }
//   q: requirements: { c: counter index or 0, p: period index or 0, l: limit, u: uniqueResources }
//   k: consumptions: { c: counter index, n: units, m?: { p, l, u, a: allowPartial } }
//   d: dryRun
//   gk, g, t (with grants): the grants hash's key index, the plans assumed granted (sorted), now (ms)
// (indexes are 1-based; 0 means "not read", which reads as 0 usage and not seen, as in semantics.ts)
// A count is written with SET from the value read above plus n, kept within 0..MAX_COUNTER_VALUE (as
// memory.ts does): INCRBY would fail on a 64-bit overflow, and Lua formats a large n as 1e+15, which no
// command takes.
// Returns { requirementMet 0/1, { usage, seen 0/1 } per counter and period, { granted, units, excess, free } per consumption,
//   { plan, grant JSON } per unexpired grant, grantsChanged 0/1 }.
// Grants (semantics.ts `checkGrants`): a grant whose expiresAt is a number <= t has expired: it is ignored,
// and deleted unless the call is dry. When the unexpired plans are not `g`, nothing is judged nor recorded.
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
local input = cjson.decode(ARGV[1])
local grants, grantsChanged = {}, 0
if input.gk ~= nil then
  local raw = redis.call('HGETALL', KEYS[input.gk])
  local plans = {}
  for i = 1, #raw, 2 do
    local e = cjson.decode(raw[i + 1]).expiresAt
    if type(e) == 'number' and e <= input.t then
      if not input.d then redis.call('HDEL', KEYS[input.gk], raw[i]) end
    else
      plans[#plans + 1] = raw[i]
      grants[#grants + 1] = raw[i]
      grants[#grants + 1] = raw[i + 1]
    end
  end
  table.sort(plans)
  if #plans ~= #input.g then grantsChanged = 1 end
  for i, p in ipairs(plans) do
    if input.g[i] ~= p then grantsChanged = 1 end
  end
end
local usage, seen = {}, {}
local readings = {}
for ci, c in ipairs(input.c) do
  usage[ci], seen[ci] = {}, {}
  for pi, b in ipairs(c.b) do
    local used = tonumber(redis.call('GET', KEYS[b[1]]) or '0')
    local wasSeen = 0
    if c.r ~= nil and redis.call('SISMEMBER', KEYS[b[2]], c.r) == 1 then wasSeen = 1 end
    usage[ci][pi], seen[ci][pi] = used, wasSeen
    readings[#readings + 1] = used
    readings[#readings + 1] = wasSeen
  end
end

local function usedOf(ci, pi)
  if ci == 0 or pi == 0 then return 0 end
  return usage[ci][pi]
end
local function seenIn(ci, pi)
  return ci ~= 0 and pi ~= 0 and seen[ci][pi] == 1
end

local met = grantsChanged == 0
for _, r in ipairs(input.q) do
  if not (usedOf(r.c, r.p) < r.l or (r.u and seenIn(r.c, r.p))) then met = false end
end

local results = {}
local allGranted = met
if met then
  for i, k in ipairs(input.k) do
    local m = k.m
    if m == nil then
      results[i] = { 1, k.n, 0, 0 }
    elseif m.u and seenIn(k.c, m.p) then
      results[i] = { 1, 0, 0, 1 }
    else
      local used = usedOf(k.c, m.p)
      if used + k.n <= m.l then
        results[i] = { 1, k.n, 0, 0 }
      elseif m.a and used < m.l then
        results[i] = { 1, m.l - used, k.n - (m.l - used), 0 }
      else
        allGranted = false
      end
    end
  end
end
if not allGranted then
  for i, k in ipairs(input.k) do results[i] = { 0, 0, math.max(k.n, 0), 0 } end
end

if allGranted and not input.d then
  for i, k in ipairs(input.k) do
    local n = results[i][2]
    if n ~= 0 then
      local c = input.c[k.c]
      for pi, b in ipairs(c.b) do
        local key, ttl = KEYS[b[1]], b[3]
        local v = math.min(math.max(usage[k.c][pi] + n, 0), MAX_COUNT)
        usage[k.c][pi] = v
        if v == 0 then
          redis.call('DEL', key)
        else
          redis.call('SET', key, string.format('%d', v))
          if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
        end
        if n > 0 and c.r ~= nil then
          redis.call('SADD', KEYS[b[2]], c.r)
          if ttl > 0 then redis.call('PEXPIRE', KEYS[b[2]], ttl) end
        end
      end
    end
  end
end

local flat = {}
for _, r in ipairs(results) do
  for _, x in ipairs(r) do flat[#flat + 1] = x end
end
return { met and 1 or 0, readings, flat, grants, grantsChanged }
`;
