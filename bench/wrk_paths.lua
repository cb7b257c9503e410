-- wrk script: GET paths read from a file (one url-quoted path per line).
--   wrk ... -s bench/wrk_paths.lua URL -- PATHFILE [uniform|zipf]
-- uniform: every path equally likely.
-- zipf:    80% of requests go to the first 10% of the file (the file is shuffled, so that is
--          a random 10% of the pages), 20% to the other 90%: an intranet's popular pages.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

local paths = {}
local mode = "uniform"
local hot = 1

function init(args)
  local file = args[1]
  mode = args[2] or "uniform"
  for line in io.lines(file) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  hot = math.max(1, math.floor(#paths / 10))
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
  for _ = 1, 10 do math.random() end
end

function request()
  local n = #paths
  local i
  if mode == "zipf" and n > hot then
    if math.random() < 0.8 then
      i = math.random(1, hot)
    else
      i = math.random(hot + 1, n)
    end
  else
    i = math.random(1, n)
  end
  return wrk.format("GET", paths[i])
end
