-- (d) GET /v1/claims/{id}?at_seq=N as an auditor: a random claim as it
-- stood at a random seq in the newer half of the log.
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local claims = c.env_number("BENCH_CLAIMS")
local head = c.env_number("BENCH_HEAD_SEQ")
setup, init, done = c.setup, c.init, c.done

request = function()
  local path = string.format("/v1/claims/%s?at_seq=%d", c.id(c.KIND_CLAIM, math.random(1, claims)),
    math.random(math.floor(head / 2), head))
  return wrk.format("GET", path, c.headers)
end
