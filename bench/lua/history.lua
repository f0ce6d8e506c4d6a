-- (d) GET /v1/claims/{id}/history as an auditor: a random claim.
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local claims = c.env_number("BENCH_CLAIMS")
setup, init, done = c.setup, c.init, c.done

request = function()
  return wrk.format("GET", "/v1/claims/" .. c.id(c.KIND_CLAIM, math.random(1, claims)) .. "/history", c.headers)
end
