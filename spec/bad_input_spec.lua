-- Bad input from the user, table-driven: wrong types, missing fields, huge
-- strings, embedded NULs and invalid UTF-8 given to every public function
-- and to the commands. Misuse raises; bad data returns a clear error; no
-- request is sent; nothing crashes.
local helper = require "spec.support.helper"
local animo = require "animo"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local HUGE = ("x"):rep(1024 * 1024)
local NUL = "a\0b"
local BAD_UTF8 = "caf\xe9"
local GOOD = { name = "n", url = "https://n.example/", events = { "lead-created" } }

local function with(t)
  local spec = { name = GOOD.name, url = GOOD.url, events = GOOD.events }
  for k, v in pairs(t) do spec[k] = v end
  return spec
end

local function client(extra)
  return animo.client(emu:options(extra))
end

-- { what, function(c) -> call results, expected: "raises" or an error kind }
local CASES = {
  { "client options not a table", function() return animo.client(42) end, "raises" },
  { "client option of the wrong type", function() return animo.client{ company = 42 } end, "raises" },
  { "client option unknown", function() return animo.client{ compnay = "x" } end, "raises" },
  { "client timeout negative", function() return animo.client{ timeout = -1 } end, "raises" },
  { "client timeout NaN", function() return animo.client{ timeout = 0 / 0 } end, "raises" },
  { "client retries fractional", function() return animo.client{ retries = 0.5 } end, "raises" },
  { "client max_concurrency zero", function() return animo.client{ max_concurrency = 0 } end, "raises" },
  { "huge base_url", function() return client{ base_url = "https://" .. HUGE }:attach(GOOD) end, "network" },
  { "base_url with a NUL", function() return client{ base_url = "https://h\0x/api" }:attach(GOOD) end, "usage" },
  { "token with a NUL", function() return client{ token = NUL }:attach(GOOD) end, "usage" },
  { "token with a newline", function() return client{ token = "a\nX-Evil: 1" }:attach(GOOD) end, "usage" },
  { "huge token", function() return client{ token = HUGE }:attach(GOOD) end, "usage" },
  { "company with a NUL and bad UTF-8", function() return client{ company = NUL .. BAD_UTF8 }:attach(GOOD) end, "not_found" },
  { "attach with no table", function(c) return c:attach() end, "raises" },
  { "attach with a string", function(c) return c:attach("n") end, "raises" },
  { "attach missing every field", function(c) return c:attach{} end, "validation" },
  { "attach name huge", function(c) return c:attach(with{ name = HUGE }) end, "validation" },
  { "attach name with a NUL", function(c) return c:attach(with{ name = NUL }) end, "validation" },
  { "attach name invalid UTF-8", function(c) return c:attach(with{ name = BAD_UTF8 }) end, "validation" },
  { "attach name a table", function(c) return c:attach(with{ name = {} }) end, "validation" },
  { "attach url huge", function(c) return c:attach(with{ url = "https://h/" .. HUGE }) end, "validation" },
  { "attach url with a NUL", function(c) return c:attach(with{ url = "https://h/" .. NUL }) end, "validation" },
  { "attach url invalid UTF-8", function(c) return c:attach(with{ url = "https://h/" .. BAD_UTF8 }) end, "validation" },
  { "attach events a string", function(c) return c:attach(with{ events = "lead-created" }) end, "validation" },
  { "attach events with a NUL", function(c) return c:attach(with{ events = { "lead-created\0" } }) end, "validation" },
  { "attach events huge", function(c)
      local events = {}
      for i = 1, 100000 do events[i] = "lead-created" end
      return c:attach(with{ events = events })
    end, "validation" },
  { "update with a number", function(c) return c:update(42, { url = GOOD.url }) end, "raises" },
  { "update with no changes table", function(c) return c:update("n") end, "raises" },
  { "update of a huge name", function(c) return c:update(HUGE, { url = GOOD.url }) end, "validation" },
  { "update of a name with a NUL", function(c) return c:update(NUL, { url = GOOD.url }) end, "validation" },
  { "update with a huge url", function(c) return c:update({ id = "i", token = "abcdefgh" }, { url = HUGE }) end, "validation" },
  { "update with a record whose token has a newline", function(c)
      return c:update({ id = "i", token = "a\r\nb" }, { url = GOOD.url })
    end, "validation" },
  { "detach with a boolean", function(c) return c:detach(true) end, "raises" },
  { "detach of an invalid UTF-8 name", function(c) return c:detach(BAD_UTF8) end, "validation" },
  { "login with a number", function(c) return c:login(42) end, "raises" },
  { "login with a NUL", function(c) return c:login(NUL) end, "validation" },
  { "login with a huge token", function(c) return c:login(HUGE) end, "validation" },
  { "spawn with a string", function() return animo.spawn("f") end, "raises" },
  { "poll with a string", function() return animo.poll("10") end, "raises" },
  { "sync with a string spec", function(c) return animo.sync(c, "spec") end, "validation" },
  { "sync with entries of every bad kind", function(c)
      return animo.sync(c, { webhooks = { 1, {}, with{ name = NUL }, with{ url = HUGE } } })
    end, "validation" },
}

describe("bad input to the Lua API", function()
  for _, case in ipairs(CASES) do
    local what, call, expected = table.unpack(case)
    it(("%s: %s"):format(what, expected == "raises" and "raises" or expected == "ok" and "is fine" or "returns " .. expected), function()
      local c = client{ retries = 0 }
      local results = table.pack(pcall(call, c))
      if expected == "raises" then
        assert.is_false(results[1])
        assert.is_string(results[2])
        return
      end
      assert.is_true(results[1], tostring(results[2]))
      if expected == "ok" then
        assert.is_truthy(results[2])
        return
      end
      local value, err = results[2], results[3]
      assert.is_nil(value)
      assert.equal(expected, err.kind, tostring(err))
      local line = tostring(err)
      assert.is_nil(line:find("[%z\r\n]"), "one line, no NUL")
      assert.is_true(#line < 1000, "bounded")
      if expected == "validation" or expected == "usage" then assert.equal(0, #emu:log()) end
    end)
  end
end)

describe("bad input to the commands", function()
  local function env()
    return { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_COMPANY = emu.fixtures.companies.pro,
             ANIMO_TOKEN = emu.fixtures.tokens.full, ANIMO_STORE = emu.store_path }
  end
  local BIG = ("y"):rep(100000)
  local CLI = {
    { "a huge name", { "attach", "--name", BIG, "--url", "https://h.example/", "--events", "lead-created" } },
    { "an invalid UTF-8 name", { "attach", "--name", BAD_UTF8, "--url", "https://h.example/", "--events", "lead-created" } },
    { "a huge url", { "attach", "--name", "n", "--url", "https://h/" .. BIG, "--events", "lead-created" } },
    { "empty events", { "attach", "--name", "n", "--url", "https://h.example/", "--events", "," } },
    { "unknown events", { "attach", "--name", "n", "--url", "https://h.example/", "--events", BIG } },
    { "an update of a huge name", { "update", BIG, "--url", "https://h.example/" } },
    { "a detach of an invalid UTF-8 name", { "detach", BAD_UTF8 } },
    { "a sync of a huge path", { "sync", "/" .. BIG } },
    { "a huge unknown flag", { "list", "--" .. BIG } },
  }
  for _, case in ipairs(CLI) do
    it(case[1] .. " is a usage error, not a crash", function()
      local code, out, err = helper.run(case[2], env())
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("^animo: [^\n]+\n", err)
      assert.equal(0, #emu:log())
    end)
  end

  it("an empty or invalid UTF-8 login token is refused without echoing it", function()
    for _, stdin in ipairs{ "\n", "   \n", "a b\n", BAD_UTF8 .. "\n" } do
      local code, out, err = helper.run({ "login" }, env(), stdin)
      assert.equal(2, code)
      assert.equal("", out)
      assert.is_nil(err:find(BAD_UTF8, 1, true))
    end
  end)
end)
