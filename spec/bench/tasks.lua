-- tasks.lua — what tasks cost a host's frame, and what they buy. Prints
-- figures; asserts nothing. Run with spec/bench/tasks.sh (it starts the
-- emulator), or by hand with the ANIMO_* settings of scripts/emulator.sh.
--   1. one animo.poll() while 1, 16 and 100 attaches are in flight
--      (200 ms latency), all started in the same frame: median and longest;
--   2. animo.poll() with no task at all;
--   3. 200 attaches as tasks (max_concurrency 16) against the same 200 one
--      after another, at 20 ms latency, token store on.
local animo = require "animo"
local core = require "animo.core"
local cjson = require "cjson"

local admin_url = assert(os.getenv("ANIMO_BASE_URL"), "run with the emulator's settings"):gsub("/api/v1$", "/_emulator")
local admin_http = core.http()
local function admin(path, body)
  local res = assert(admin_http:request{ method = "POST", url = admin_url .. path, ca_file = os.getenv("ANIMO_CA_FILE"),
                                          headers = { "Content-Type: application/json" }, body = cjson.encode(body) })
  assert(res.status == 200, res.body)
  return cjson.decode(res.body)
end

local store_dir = os.tmpname()
os.remove(store_dir)
local run_id = 0
-- A client on a fresh company state and a fresh store.
local function fresh_client(opts)
  local fixtures = admin("/reset", {})
  run_id = run_id + 1
  opts.token = fixtures.tokens.full
  opts.store = ("%s/%d/store.json"):format(store_dir, run_id)
  return animo.client(opts)
end

local function spec(i)
  return { name = "bench " .. i, url = "https://bench.example/" .. i, events = { "lead-created" } }
end

local function percentile(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

print("1. one animo.poll() with N attaches in flight, all spawned in the same frame (200 ms latency)")
for _, n in ipairs{ 1, 16, 100 } do
  local client = fresh_client{ max_concurrency = n }
  admin("/settings", { latency_ms = 200 })
  for i = 1, n do animo.spawn(function() assert(client:attach(spec(i))) end) end
  local times = {}
  repeat
    local t0 = core.now()
    local left = animo.poll(0)
    times[#times + 1] = (core.now() - t0) * 1e3
    core.sleep(0.001)  -- the rest of a frame
  until left == 0
  table.sort(times)
  print(("   N = %3d: %5d polls, median %.3f ms, p99 %.3f ms, longest %.3f ms")
    :format(n, #times, percentile(times, 0.5), percentile(times, 0.99), times[#times]))
end

print("2. animo.poll() with no task")
local times = {}
for i = 1, 10000 do
  local t0 = core.now()
  animo.poll(0)
  times[i] = (core.now() - t0) * 1e6
end
table.sort(times)
print(("   10000 polls: median %.2f us, p99 %.2f us"):format(percentile(times, 0.5), percentile(times, 0.99)))

print("3. 200 attaches at 20 ms latency, token store on")
local client = fresh_client{}
admin("/settings", { latency_ms = 20 })
local t0 = core.now()
for i = 1, 200 do assert(client:attach(spec(i))) end
local sequential = core.now() - t0
client = fresh_client{ max_concurrency = 16 }
admin("/settings", { latency_ms = 20 })
t0 = core.now()
for i = 1, 200 do animo.spawn(function() assert(client:attach(spec(i))) end) end
animo.run()
local tasks = core.now() - t0
assert(#client:webhooks() == 200)
print(("   one after another %.0f ms, as tasks (max_concurrency 16) %.0f ms: %.1fx faster")
  :format(sequential * 1e3, tasks * 1e3, sequential / tasks))
os.execute("rm -rf " .. store_dir)
