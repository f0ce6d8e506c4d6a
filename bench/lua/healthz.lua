-- Reference: GET /healthz, the HTTP stack's own limit (no database).
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
setup, init, done = c.setup, c.init, c.done

request = function()
  return wrk.format("GET", "/healthz")
end
