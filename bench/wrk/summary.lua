-- Prints one JSON line from wrk's summary: requests, duration, p50/p99 latency (microseconds),
-- socket errors by kind, and the bad-status count. bench/wrk.ts parses the line after BENCH_JSON.
-- When count-statuses.lua is loaded before this file, `bench_non2xx()` gives the exact count of
-- responses outside 200-299; otherwise wrk's own `errors.status` (responses with status >= 400) is used.
function done(summary, latency, requests)
  local e = summary.errors
  local non2xx = e.status
  local counted = false
  if bench_non2xx ~= nil then
    non2xx = bench_non2xx()
    counted = true
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%.1f,"p99Us":%.1f,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"statusErrors":%d,"non2xx":%d,"countedStatuses":%s}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, non2xx, tostring(counted)))
end
