-- For bench/run_api.sh: POST /v1/jobs of a no-op step job on every request, counting the answers
-- by status. Only a 201 is a created (and, by Warden's contract, durable) job; a 429 (queue full)
-- or anything else is not. Prints one line that the script parses (times in microseconds).
wrk.method = "POST"
wrk.body = '{"steps":[{"shell":"true"}]}'
wrk.headers["Content-Type"] = "application/json"

-- Each wrk thread runs its own copy of this script: the counters are per thread, added up in done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

created = 0
refused = 0
other = 0

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 429 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    r = r + thread:get("refused")
    o = o + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "WRKPOST created=%d refused_429=%d other=%d requests=%d duration_us=%d p50_us=%d " ..
    "p99_us=%d max_us=%d socket_errors=%d\n",
    c, r, o, summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout))
end
