-- (c) PATCH /v1/verdicts/{id} as an editor, with the If-Match of the version
-- it last saw. Each wrk thread owns its own share of the draft pool and goes
-- round it, so a verdict comes back only after the whole share: two
-- connections never edit one verdict at once, and every If-Match is current.
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local threads = c.env_number("BENCH_THREADS")
local pool, i, edits, run = {}, 0, 0, 0
-- wrk 4.1 calls request() once in the first thread right after init(), to
-- check the script's output, and never sends that request: answer it
-- without taking a version.
local probed = false
setup, done = c.setup, c.done

init = function(args)
  c.init(args)
  -- Every headline is new (an edit that changes nothing writes nothing),
  -- across runs too: earlier runs edited the same verdicts.
  run = os.getenv("BENCH_RUN") or tostring(math.random(1, 1000000000))
  probed = (tid or 1) ~= 1
  -- lines: "<n in hex> <version>"
  for line in io.lines(os.getenv("BENCH_DRAFT_VERSIONS")) do
    local hexn, v = string.match(line, "^(%x+)%s+(%d+)")
    if hexn then
      local n = tonumber(hexn, 16)
      if n % threads == (tid or 1) - 1 then pool[#pool + 1] = { n = n, v = tonumber(v) } end
    end
  end
  if #pool == 0 then error("no draft verdicts for thread " .. tostring(tid)) end
end

request = function()
  if not probed then
    probed = true
    return wrk.format("PATCH", "/v1/verdicts/" .. c.id(c.KIND_VERDICT, pool[1].n), {}, "{}")
  end
  i = i % #pool + 1
  edits = edits + 1
  local d = pool[i]
  local headers = {
    ["Authorization"] = c.headers["Authorization"],
    ["Content-Type"] = "application/merge-patch+json",
    ["If-Match"] = '"' .. d.v .. '"',
  }
  d.v = d.v + 1
  local body = string.format('{"headline":"Edited under load, run %s thread %d edit %d","reason":"benchmark edit"}',
    run, tid or 1, edits)
  return wrk.format("PATCH", "/v1/verdicts/" .. c.id(c.KIND_VERDICT, d.n), headers, body)
end
