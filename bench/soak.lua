-- wrk script of bench/soak: the mixed steady load. SOAK_REQUESTS names a file of lines
-- "AUTH GZIP PATH" (AUTH 1: send the Bearer token in SOAK_TOKEN; GZIP 1: send
-- Accept-Encoding: gzip), each request is one of them at random. SOAK_DELAY_MS (a
-- fraction is fine) is the pause before each request on a connection: the driver sets it
-- so that the whole run makes about the target rate. done() prints one line the driver
-- parses: requests, latency percentiles (microseconds) and every kind of error.
local token = os.getenv("SOAK_TOKEN")
local pause = tonumber(os.getenv("SOAK_DELAY_MS"))
local requests = {}
for line in io.lines(os.getenv("SOAK_REQUESTS")) do
  local auth, gzip, path = line:match("^(%d) (%d) (%S+)$")
  local headers = { ["User-Agent"] = "Dart pub 3.5.0" }
  if auth == "1" then
    headers["Authorization"] = "Bearer " .. token
  end
  if gzip == "1" then
    headers["Accept-Encoding"] = "gzip"
  end
  if path:find("^/api/") then
    headers["Accept"] = "application/vnd.pub.v2+json"
  end
  requests[#requests + 1] = wrk.format("GET", path, headers)
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or 1)
end

request = function()
  return requests[math.random(#requests)]
end

-- wrk's delay is in whole milliseconds: round the fraction up or down at random so
-- that the mean pause is the one asked for.
delay = function()
  local whole = math.floor(pause)
  if math.random() < pause - whole then
    whole = whole + 1
  end
  return whole
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d mean_us=%.0f "
      .. "status=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
