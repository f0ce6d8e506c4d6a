-- (tlog) GET /v1/log/proof/inclusion?seq=N&size=M: a random revision N in
-- 1..M, M the size of the current checkpoint (BENCH_TREE_SIZE, read by
-- bench/run from /v1/log/checkpoint just before the run).
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local size = c.env_number("BENCH_TREE_SIZE")
setup, init, done = c.setup, c.init, c.done

request = function()
  return wrk.format("GET", "/v1/log/proof/inclusion?seq=" .. math.random(1, size) .. "&size=" .. size)
end
