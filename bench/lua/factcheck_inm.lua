-- (a) GET /v1/factchecks/{id} with If-None-Match naming the current ETag
-- ("fc-<seq>", the log position of the fact check): a 304 from memory.
-- BENCH_FACTCHECK_ETAGS: lines "<claim n in hex> <seq>", written by
-- bench/run from public_factchecks just before this phase; bench/run checks
-- with curl that one such request is answered 304 (wrk counts only
-- statuses ≥ 400 as errors, and a response() hook would slow wrk down).
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local pool = {}
setup, done = c.setup, c.done

init = function(args)
  c.init(args)
  for line in io.lines(os.getenv("BENCH_FACTCHECK_ETAGS")) do
    local hexn, seq = string.match(line, "^(%x+)%s+(%d+)")
    if hexn then
      pool[#pool + 1] = { path = "/v1/factchecks/" .. c.id(c.KIND_CLAIM, tonumber(hexn, 16)), etag = '"fc-' .. seq .. '"' }
    end
  end
  if #pool == 0 then error("no published fact checks in BENCH_FACTCHECK_ETAGS") end
end

request = function()
  local d = pool[math.random(1, #pool)]
  return wrk.format("GET", d.path, { ["If-None-Match"] = d.etag })
end
