-- wrk script: cycles through a URL list (one path a line, given after --) and prints one RESULT line.
-- Each wrk thread starts at a random place in the list, so threads do not ask for the same tiles in step.
local urls = {}
local idx = 0

init = function(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then urls[#urls + 1] = line end
  end
  f:close()
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
  idx = math.random(#urls)
end

request = function()
  idx = idx % #urls + 1
  return wrk.format("GET", urls[idx])
end

-- errors = connect + read + write failures; timeouts (no answer within --timeout) and non-2xx apart.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write, e.timeout, e.status))
end
