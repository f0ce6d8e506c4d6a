-- (b) GET /v1/factchecks?q=: one of the search terms, at random.
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local terms = {}
for t in string.gmatch(os.getenv("BENCH_SEARCH_TERMS") or "", "[^,]+") do terms[#terms + 1] = t end
setup, init, done = c.setup, c.init, c.done

request = function()
  return wrk.format("GET", "/v1/factchecks?q=" .. terms[math.random(1, #terms)], c.headers)
end
