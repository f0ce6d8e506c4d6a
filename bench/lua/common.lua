-- Shared by bench/run's wrk scripts: ids, per-thread random seeds, the
-- bearer token, and one machine-readable summary line at the end.
local M = {}

-- The synthetic data set's ids (bench/src/synth.rs): kind K, number n.
function M.id(kind, n)
  return string.format("0190000%d-0000-7000-8000-%012x", kind, n)
end

M.KIND_CLAIM = 2
M.KIND_VERDICT = 5

function M.env_number(name)
  local v = tonumber(os.getenv(name) or "")
  if v == nil then error(name .. " is not set") end
  return v
end

M.headers = {}
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  M.headers["Authorization"] = "Bearer " .. token
end

local threads = 0
function M.setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function M.init(args)
  math.randomseed(((tid or 1) * 7919 + os.time()) % 2147483647)
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

return M
