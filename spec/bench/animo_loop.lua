-- animo_loop.lua — N rounds of attach, update, detach with one client, for
-- spec/bench/compare.sh. Settings from ANIMO_*; ANIMO_STORE=off disables
-- the store. Prints the process's RSS after the 1,000th and the last round
-- when asked (BENCH_RSS=1).
local animo = require "animo"
local n = tonumber(arg[1])
local store = os.getenv("ANIMO_STORE")
if store == "off" then store = false end
local client = animo.client{ store = store }
local spec = { name = "bench", url = "https://bench.example/hook", events = { "lead-created", "lead-updated" } }
local changes = { url = "https://bench.example/v2" }
local report_rss = os.getenv("BENCH_RSS")

local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local kib = line:match("^VmRSS:%s+(%d+)")
    if kib then return tonumber(kib) end
  end
end

for i = 1, n do
  local wh = assert(client:attach(spec))
  assert(client:update(wh, changes))
  assert(client:detach(wh))
  if report_rss and (i == 1000 or i == n) then
    collectgarbage()
    print(("rss after %d rounds: %d KiB"):format(i, rss_kib()))
  end
end
