-- Counts every response outside 200-299 in each wrk thread. Defining response() makes wrk hand every
-- response's headers and body to Lua, which costs load-generator CPU: see docs/performance.md.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function bench_non2xx()
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
  end
  return total
end
