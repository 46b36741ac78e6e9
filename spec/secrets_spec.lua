-- One session that collects everything animo can print or return — the
-- printed forms of clients, webhooks, stores, tasks and errors (validation,
-- auth, TLS, every injected fault), listings, and stdout/stderr of every
-- command — and checks that no access token or webhook token is in any of
-- it. Only `wh.token` itself and `animo attach --json` may show one.
local helper = require "spec.support.helper"
local animo = require "animo"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)

local seen = {}     -- { where, text }
local secrets = {}  -- every token in play

local function keep(where, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil then seen[#seen + 1] = { where, tostring(v) } end
  end
end

local function remember_tokens()
  for _, t in pairs(emu.fixtures.tokens) do secrets[t] = true end
  for _, wh in ipairs(emu:state().webhooks) do secrets[wh.token] = true end
  for _, r in ipairs(emu:log()) do
    if type(r.json) == "table" and type(r.json.token) == "string" then secrets[r.json.token] = true end
  end
end

describe("a session's printed output", function()
  it("shows no token anywhere", function()
    emu:reset()
    local client = animo.client(emu:options{ retries = 1, timeout = 0.5 })
    keep("client", client)
    keep("store", client.store)

    local wh = assert(client:attach{ name = "secret", url = "https://s.example/", events = { "lead-created" } })
    keep("webhook", wh)
    assert.is_string(wh.token)  -- the one place a token may be
    keep("update", client:update("secret", { url = "https://s2.example/" }))
    for _, listed in ipairs(assert(client:webhooks())) do keep("listed", listed, listed.note) end

    local t = animo.spawn(function() return client:attach{ name = "task", url = "https://t.example/", events = { "lead-created" } } end)
    keep("task before", t)
    animo.run()
    keep("task after", t, select(2, t:result()))

    -- errors: client-side, server, transport, and every fault
    keep("validation", select(2, client:attach{ name = "", url = "http://x", events = {} }))
    keep("taken", select(2, client:attach{ name = "secret", url = "https://s.example/", events = { "lead-created" } }))
    keep("auth", select(2, animo.client(emu:options{ token = "wrong-" .. emu.fixtures.tokens.full:sub(1, 20) })
                             :attach{ name = "a", url = "https://a.example/", events = { "lead-created" } }))
    keep("tls", select(2, animo.client(emu:options{ ca_file = emu.certs.other_ca })
                             :attach{ name = "b", url = "https://b.example/", events = { "lead-created" } }))
    for _, fault in ipairs{ { status = 500, body = '{"message":"token ' .. wh.token .. ' broke"}' },
                            { status = 422, body = '{"message":"bad","errors":{"token":["' .. wh.token .. ' is wrong"]}}' },
                            { action = "reset_after" }, { action = "invalid_json" }, { action = "truncate" },
                            { action = "oversize" }, { action = "hang", max_ms = 3000 }, { delay_ms = 1500 } } do
      fault.route = "update"
      emu:fault(fault)
      keep("fault " .. (fault.action or fault.status or "delay"),
           select(2, animo.client(emu:options{ retries = 0, timeout = 0.5 }):update("secret", { name = "renamed" })))
    end
    remember_tokens()

    -- every command, human and --json
    local env = { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_STORE = emu.store_path,
                  ANIMO_COMPANY = emu.fixtures.companies.pro, ANIMO_TOKEN = emu.fixtures.tokens.full }
    local dir = helper.tmpdir()
    helper.write_file(dir .. "/hooks.lua", [[return { webhooks = {
      { name = "synced", url = "https://y.example/", events = { "lead-created" } } } }]])
    local COMMANDS = {
      { "attach", "--name", "cli", "--url", "https://c.example/", "--events", "lead-created" },
      { "update", "cli", "--url", "https://c2.example/" }, { "update", "cli", "--events", "lead-deleted", "--json" },
      { "list" }, { "list", "--json" },
      { "sync", dir .. "/hooks.lua", "--dry-run" }, { "sync", dir .. "/hooks.lua", "--json" },
      { "sync", dir .. "/hooks.lua", "--prune" },
      { "detach", "synced", "--json" }, { "help" }, { "help", "login" },
      { "attach", "--name", "x", "--url", "http://bad", "--events", "lead-created" },
    }
    for _, args in ipairs(COMMANDS) do
      local _, out, err = helper.run(args, env)
      keep(table.concat(args, " "), out, err)
    end
    local _, out, err = helper.run({ "login" }, env, emu.fixtures.tokens.leads .. "\n")
    keep("login", out, err)
    local code, json_out = helper.run({ "attach", "--name", "json", "--url", "https://j.example/",
                                        "--events", "lead-created", "--json" }, env)
    assert.equal(0, code)
    remember_tokens()
    assert.is_truthy(json_out:find(emu:webhooks()["json"].token, 1, true))  -- allowed here, and only here
    helper.rmtree(dir)

    local n = 0
    for _ in pairs(secrets) do n = n + 1 end
    assert.is_true(n >= 8 and #seen >= 40, ("too little collected: %d secrets, %d outputs"):format(n, #seen))
    for _, item in ipairs(seen) do
      for secret in pairs(secrets) do
        assert.is_nil(item[2]:find(secret, 1, true), item[1] .. " shows a token: " .. item[2])
      end
    end
  end)

  it("never has libcurl's verbose mode or debug callback in the code", function()
    for _, file in ipairs{ "core/http.c", "core/http_lua.c", "core/multi_lua.c" } do
      local text = helper.read_file(helper.root .. "/" .. file)
      assert.is_nil(text:find("CURLOPT_VERBOSE", 1, true), file)
      assert.is_nil(text:find("CURLOPT_DEBUGFUNCTION", 1, true), file)
    end
  end)
end)
