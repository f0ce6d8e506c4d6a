-- (a) the page GET /factchecks/{id} (HTML): a random claim with a published verdict.
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local published = c.env_number("BENCH_PUBLISHED_CLAIMS")
setup, init, done = c.setup, c.init, c.done

request = function()
  return wrk.format("GET", "/factchecks/" .. c.id(c.KIND_CLAIM, math.random(1, published)), c.headers)
end
