-- store_latency.lua — how long one store change takes (lock, read, parse,
-- encode, write, fsync, rename, fsync of the folder), over 1,000 updates of
-- a store holding 20 webhook records. Prints figures; asserts nothing.
--   build/animo spec/bench/store_latency.lua [DIR]
local core = require "animo.core"
local store = require "animo.store"

local dir = arg[1] or os.getenv("TMPDIR") or "/tmp"
local path = ("%s/animo-bench-%d/store.json"):format(dir, math.floor(core.now() * 1000))
local st = store.open(path)

assert(st:change(5, function(doc)
  local acct = store.account(doc, "https://app.animo.co/api/v1", "c9Xk2", true)
  for i = 1, 20 do
    local id = ("550e8400-e29b-41d4-a716-4466554400%02d"):format(i)
    acct.webhooks[id] = { id = id, name = "hook " .. i, url = "https://crm.example.com/animo/" .. i,
                          events = { "lead-created", "lead-updated" }, created_at = "2026-12-03T13:18:12.123456+00:00",
                          token = ("t"):rep(40) }
  end
end))

local times = {}
for i = 1, 1000 do
  local t0 = core.now()
  assert(st:change(5, function(doc)
    local acct = store.account(doc, "https://app.animo.co/api/v1", "c9Xk2", false)
    acct.webhooks["550e8400-e29b-41d4-a716-446655440001"].url = "https://crm.example.com/v" .. i
  end))
  times[i] = (core.now() - t0) * 1000
end
table.sort(times)
local size = #io.open(path):read("a")
print(("store change, %d bytes, 1000 runs on %s: median %.3f ms, p90 %.3f ms, max %.3f ms")
  :format(size, dir, times[500], times[900], times[1000]))
os.remove(path)
os.remove(path .. ".lock")
os.remove(path:match("^(.*)/"))
