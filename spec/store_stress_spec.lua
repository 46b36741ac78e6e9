-- The token store under abuse, with real processes: writers killed with
-- SIGKILL at random moments, and many processes attaching at once
-- (API.md §7: atomic replace, serialised between processes).
local helper = require "spec.support.helper"
local core = require "animo.core"
local cjson = require "cjson"

local dir
setup(function() dir = helper.tmpdir() end)
teardown(function() helper.rmtree(dir) end)

-- Starts the animo binary on `code` in the background; its stderr goes to
-- the file `errfile`. Returns its pid.
local function spawn(code, env, errfile)
  local vars = {}
  for k, v in pairs(env) do vars[#vars + 1] = helper.shell_quote(k .. "=" .. v) end
  local p = io.popen(("env %s %s -e %s > /dev/null 2>> %s & echo $!"):format(
    table.concat(vars, " "), helper.shell_quote(helper.bin), helper.shell_quote(code), helper.shell_quote(errfile)))
  local pid = p:read("l")
  p:close()
  return pid
end

local function running(pid)
  local stat = helper.read_file("/proc/" .. pid .. "/stat")
  return stat and not stat:match("^%d+ %b() Z")
end

local function temp_files(folder)
  local p = io.popen("ls -A " .. helper.shell_quote(folder))
  local n = 0
  for name in p:lines() do
    if name:find("%.tmp%.") then n = n + 1 end
  end
  p:close()
  return n
end

describe("a store writer killed with SIGKILL", function()
  -- Each change appends one item and sets counter = #items: a torn or mixed
  -- file would parse badly or disagree with itself.
  local WRITER = [[
    local store = require "animo.store"
    local st = store.open(os.getenv("ANIMO_STORE"))
    while true do
      assert(st:change(10, function(doc)
        doc.items = doc.items or {}
        doc.items[#doc.items + 1] = ("item %d "):format(#doc.items + 1) .. ("x"):rep(200)
        doc.counter = #doc.items
      end))
    end
  ]]

  it("always leaves the old or the new whole document (200 runs)", function()
    local path = dir .. "/crash/store.json"
    local last, mid_write = 0, 0
    math.randomseed(os.time())
    for _ = 1, 200 do
      local pid = spawn(WRITER, { ANIMO_STORE = path }, "/dev/null")
      core.sleep(0.005 + math.random() * 0.045)  -- the random moment of the kill
      os.execute("kill -9 " .. pid)
      helper.wait_for(function() return not running(pid) end, 5)
      if temp_files(dir .. "/crash") > 0 then mid_write = mid_write + 1 end
      local text = helper.read_file(path)
      if text then
        local ok, doc = pcall(cjson.decode, text)
        assert.is_true(ok, "the store does not parse after a kill")
        assert.equal(doc.counter, #doc.items)
        assert.is_true(doc.counter >= last, "the store went back in time")
        for i, item in ipairs(doc.items) do
          assert.equal(("item %d "):format(i), item:sub(1, #("item %d "):format(i)))
        end
        last = doc.counter
      end
    end
    assert.is_true(last > 0, "no write ever completed")
    -- The first write of a new handle removes what killed writers left behind.
    local store = require "animo.store"
    assert(store.open(path):change(1, function(doc) doc.counter = #doc.items end))
    assert.equal(0, temp_files(dir .. "/crash"))
    print(("\n# %d kills, %d left a temp file (killed mid-write), %d changes survived"):format(200, mid_write, last))
  end)
end)

describe("8 processes attaching at once", function()
  local emu
  setup(function() emu = helper.start_emulator() end)
  teardown(function() emu:stop() end)

  it("lose no record: 8 × 25 attaches give 200 records", function()
    emu:reset()
    local go = dir .. "/go"
    local path = dir .. "/many/store.json"
    local env = { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_STORE = path,
                  ANIMO_COMPANY = emu.fixtures.companies.pro, ANIMO_TOKEN = emu.fixtures.tokens.full }
    local pids = {}
    for p = 1, 8 do
      pids[p] = spawn(([[
        local core = require "animo.core"
        while not io.open(%q) do core.sleep(0.002) end  -- released together
        local c = require("animo").client()
        for i = 1, 25 do
          assert(c:attach{ name = ("p%d-%%02d"):format(i), url = "https://h.example/", events = { "lead-created" } })
        end
      ]]):format(go, p), env, dir .. "/stderr")
    end
    helper.write_file(go, "")
    for _, pid in ipairs(pids) do
      assert.is_truthy(helper.wait_for(function() return not running(pid) end, 120))
    end
    assert.equal("", helper.read_file(dir .. "/stderr") or "")
    local doc = cjson.decode(helper.read_file(path))
    local acct = doc.servers[emu.base_url].companies[emu.fixtures.companies.pro]
    local n = 0
    for _ in pairs(acct.webhooks) do n = n + 1 end
    assert.equal(200, n)
    assert.same({}, acct.pending)
    assert.equal(200, #emu:state().webhooks)
  end)
end)
