-- Tasks (API.md §5): animo.spawn / poll / run with real transfers against
-- the emulator. Time bounds here are generous sanity checks; the figures
-- come from spec/bench/tasks.lua.
local helper = require "spec.support.helper"
local animo = require "animo"
local core = require "animo.core"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local function client(extra)
  return animo.client(emu:options(extra))
end

-- The longest poll a frame may see: a sanity bound, ten times wider under
-- valgrind (which runs everything some fifty times slower).
local LONGEST_POLL = os.getenv("ANIMO_UNDER_VALGRIND") and 1 or 0.1

local function spec(name)
  return { name = name, url = "https://t.example/" .. name, events = { "lead-created" } }
end

-- Polls like a frame loop until every task is done; returns the longest
-- poll in seconds and the number of polls.
local function frame_loop(limit)
  local longest, polls, stop = 0, 0, core.now() + (limit or 20)
  repeat
    local t0 = core.now()
    local n = animo.poll(0)
    longest = math.max(longest, core.now() - t0)
    polls = polls + 1
    if n > 0 then core.sleep(0.001) end  -- the rest of the frame
  until n == 0 or core.now() > stop
  return longest, polls
end

describe("tasks", function()
  it("run a function to completion and keep its returns", function()
    local t = animo.spawn(function(a, b) return a + b, "x" end, 2, 3)
    assert.is_false(t.done)
    assert.equal("animo.task (running)", tostring(t))
    local none, err = t:result()
    assert.is_nil(none)
    assert.equal("usage", err.kind)
    assert.equal(0, animo.poll())
    assert.is_true(t.done)
    assert.same({ 5, "x" }, { t:result() })
    assert.equal("animo.task (done)", tostring(t))
  end)

  it("only start on poll or run, never at spawn", function()
    local started = false
    local t = animo.spawn(function() started = true end)
    assert.is_false(started)
    animo.run()
    assert.is_true(started and t.done)
  end)

  it("keep a raised error inside the task: poll never raises for it", function()
    local bad = animo.spawn(function() error("boom") end)
    local lua_assert = _G.assert  -- busted's `assert` (luassert) would copy the error
    local raised_obj = animo.spawn(function()
      lua_assert(client():attach{ name = "x", url = "http://insecure.example/", events = { "lead-created" } })
    end)
    local good = animo.spawn(function() return "fine" end)
    assert.has_no_error(animo.run)
    local _, err = bad:result()
    assert.equal("usage", err.kind)
    assert.matches("task raised: .*boom", err.message)
    assert.equal("animo.task (failed)", tostring(bad))
    _, err = raised_obj:result()
    assert.equal("validation", err.kind)  -- the animo error itself
    assert.equal("fine", good:result())
  end)

  it("return nil, err from the function as the result", function()
    local t = animo.spawn(function() return client():attach(spec("dup")) end)
    local t2 = animo.spawn(function() return client():attach(spec("dup")) end)
    animo.run()
    local ok1, ok2 = t:result(), t2:result()
    assert.is_true((ok1 and not ok2) or (ok2 and not ok1))
    local _, err = (ok1 and t2 or t):result()
    assert.equal("validation", err.kind)
    assert.equal(422, err.status)
  end)

  it("refuse misuse", function()
    assert.has_error(function() animo.spawn("x") end, "animo.spawn: expected a function")
    assert.has_error(function() animo.poll(-1) end)
    local t = animo.spawn(function() animo.poll() end)
    animo.run()
    local _, err = t:result()
    assert.matches("called from inside a task", err.message)
  end)

  it("run client calls concurrently, never blocking a poll on the network", function()
    emu:settings{ latency_ms = 200 }
    local c = client()
    local tasks = {}
    local t0 = core.now()
    for i = 1, 16 do
      tasks[i] = animo.spawn(function() return assert(c:attach(spec("c" .. i))).id end)
    end
    local longest = frame_loop()
    local elapsed = core.now() - t0
    for _, t in ipairs(tasks) do assert.is_string(t:result()) end
    assert.is_true(elapsed < 16 * 0.2 / 2, ("16 attaches at 200 ms took %.2f s"):format(elapsed))
    assert.is_true(longest < LONGEST_POLL, ("a poll took %.1f ms"):format(longest * 1000))
    local list = assert(c:webhooks())
    assert.equal(16, #list)
    for _, wh in ipairs(list) do assert.equal("attached", wh.status) end
  end)

  it("bound transfers in flight by max_concurrency; the rest queue", function()
    emu:settings{ latency_ms = 150 }
    local c = client{ max_concurrency = 2 }
    local t0 = core.now()
    for i = 1, 6 do animo.spawn(function() assert(c:attach(spec("q" .. i))) end) end
    animo.run()
    local elapsed = core.now() - t0
    assert.is_true(elapsed >= 3 * 0.15, ("6 attaches, 2 at a time, took only %.2f s"):format(elapsed))
    assert.is_true(elapsed < 3, ("took %.2f s"):format(elapsed))
    assert.equal(6, #emu:state().webhooks)
  end)

  it("wait out a retry in the engine, not by sleeping in poll", function()
    emu:fault{ route = "attach", status = 429, headers = { ["Retry-After"] = "1", ["Content-Type"] = "application/json" },
               body = '{"message":"Too Many Attempts."}' }
    local t0 = core.now()
    local t = animo.spawn(function() return assert(client():attach(spec("later"))).name end)
    local longest, polls = frame_loop()
    assert.equal("later", t:result())
    assert.is_true(core.now() - t0 >= 1)
    assert.is_true(longest < LONGEST_POLL, ("a poll took %.1f ms"):format(longest * 1000))
    assert.is_true(polls > 50)  -- the host kept its frames going meanwhile
  end)

  it("wait at most ms in poll(ms)", function()
    emu:settings{ latency_ms = 1000 }
    animo.spawn(function() client():attach(spec("slow")) end)
    animo.poll(0)
    local t0 = core.now()
    animo.poll(100)
    local waited = core.now() - t0
    assert.is_true(waited < 0.5, ("poll(100) took %.0f ms"):format(waited * 1000))
    animo.run()
  end)

  it("keep polling while another process holds the store lock", function()
    local dir = helper.tmpdir()
    assert(client():login("warm-up-token"))
    local holder = ([[
      local st = require("animo.core").store(%q)
      assert(st:lock(1))
      io.open(%q, "w"):close()
      require("animo.core").sleep(0.5)
    ]]):format(emu.store_path, dir .. "/held")
    os.execute(("%s -e %s > /dev/null 2>&1 &"):format(helper.shell_quote(helper.bin), helper.shell_quote(holder)))
    assert.is_truthy(helper.wait_for(function() return helper.read_file(dir .. "/held") end, 5))
    local t = animo.spawn(function() return assert(client():attach(spec("locked"))).name end)
    local longest = frame_loop()
    assert.equal("locked", t:result())
    assert.is_true(longest < LONGEST_POLL, ("a poll took %.1f ms"):format(longest * 1000))
    helper.rmtree(dir)
  end)

  it("write the store once per poll for many tasks, losing nothing", function()
    local c = client()
    for i = 1, 30 do animo.spawn(function() assert(c:attach(spec("s" .. i))) end) end
    animo.run()
    local list = assert(c:webhooks())
    assert.equal(30, #list)
    for _, wh in ipairs(list) do assert.equal("attached", wh.status) end
  end)
end)
