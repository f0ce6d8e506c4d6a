-- (tlog) GET /v1/log/tile/0/{N}: a random full tile of level 0 (256 leaf
-- hashes) of the tree of BENCH_TREE_SIZE leaves, N in C2SP tlog-tiles form
-- (groups of three digits, every group but the last prefixed "x").
local c = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local full = math.floor(c.env_number("BENCH_TREE_SIZE") / 256)
if full < 1 then error("the tree has no full tile yet") end
setup, init, done = c.setup, c.init, c.done

local function index_path(n)
  local groups = {}
  repeat
    table.insert(groups, 1, string.format("%03d", n % 1000))
    n = math.floor(n / 1000)
  until n == 0
  for i = 1, #groups - 1 do groups[i] = "x" .. groups[i] end
  return table.concat(groups, "/")
end

request = function()
  return wrk.format("GET", "/v1/log/tile/0/" .. index_path(math.random(0, full - 1)))
end
