-- The `animo COMMAND` front end (API.md §6), run as the real binary against the emulator:
-- each command's human and --json output, exit statuses 0/1/2, settings flags, sync plans,
-- help, a file path winning over a command name, and no token ever printed.
local helper = require "spec.support.helper"
local cjson = require "cjson"

local emu, env, files
local runs, secrets = {}, {}  -- every command's output; every token the emulator handed out

--- Remembers the tokens the emulator knows now, and those sent to it (detached webhooks').
local function collect_secrets()
  for _, t in pairs(emu.fixtures.tokens) do secrets[t] = true end
  for _, wh in ipairs(emu:state().webhooks) do secrets[wh.token] = true end
  for _, req in ipairs(emu:log()) do
    if type(req.json) == "table" and type(req.json.token) == "string" then secrets[req.json.token] = true end
  end
end

setup(function()
  emu = helper.start_emulator()
  files = helper.tmpdir()
end)
teardown(function()
  emu:stop()
  helper.rmtree(files)
end)
before_each(function()
  emu:reset()
  env = { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_STORE = emu.store_path,
          ANIMO_COMPANY = emu.fixtures.companies.pro, ANIMO_TOKEN = emu.fixtures.tokens.full }
end)
after_each(collect_secrets)

--- `env` with `extra` on top.
local function with(extra)
  local e = {}
  for k, v in pairs(env) do e[k] = v end
  for k, v in pairs(extra) do e[k] = v end
  return e
end

--- Runs `animo args…` (env defaults to `env`); returns code, stdout, stderr, keeping both outputs.
local function animo(args, e, stdin)
  local code, out, err = helper.run(args, e or env, stdin)
  runs[#runs + 1] = { args = args, out = out, err = err }
  return code, out, err
end

--- Runs a command that must succeed with nothing on stderr; returns its stdout.
local function animo_ok(args, e, stdin)
  local code, out, err = animo(args, e, stdin)
  assert.equal("", err)
  assert.equal(0, code)
  return out
end

--- Runs a command that must succeed printing one JSON document; returns it decoded.
local function animo_json(args, e)
  local out = animo_ok(args, e)
  assert.matches("^[^\n]+\n$", out)
  return cjson.decode(out)
end

local function attach(name, events)
  local url = "https://hooks.example.com/" .. name:gsub("%W", ""):lower()
  animo_ok{ "attach", "--name", name, "--url", url, "--events", events or "lead-created" }
end

--- The store's records by name, as `animo list --json` shows them.
local function stored()
  local by_name = {}
  for _, wh in ipairs(animo_json{ "list", "--json" }) do by_name[wh.name] = wh end
  return by_name
end

local function requests() return #emu:log() end

local function write(name, text)
  local path = files .. "/" .. name
  helper.write_file(path, text)
  return path
end

--- Whether some line of `text` matches the whole of `pattern`.
local function has_line(text, pattern)
  for line in text:gmatch("[^\n]+") do
    if line:match("^" .. pattern .. "$") then return true end
  end
  return false
end

local ATTACH = { "attach", "--name", "CRM sync", "--url", "https://crm.example.com/animo", "--events", "lead-created" }

local function plus(list, ...)
  local t = table.move(list, 1, #list, 1, {})
  return table.move({ ... }, 1, select("#", ...), #t + 1, t)
end

describe("animo attach", function()
  it("prints one line naming the webhook, exits 0 and keeps the record in the store", function()
    local out = animo_ok{ "attach", "--name", "CRM sync", "--url", "https://crm.example.com/animo",
                          "--events", "lead-created,lead-updated" }
    local server = emu:webhooks()["CRM sync"]
    assert.matches("^[^\n]*CRM sync[^\n]*\n$", out)
    assert.truthy(out:find(server.id, 1, true))
    local rec = stored()["CRM sync"]
    assert.equal(server.id, rec.id)
    assert.same({ "lead-created", "lead-updated" }, rec.events)
    assert.equal("attached", rec.status)
  end)

  it("--json prints the server's webhook object, token included", function()
    local wh = animo_json(plus(ATTACH, "--json"))
    local server = emu:webhooks()["CRM sync"]
    assert.same({ id = server.id, name = server.name, url = server.url, events = server.events,
                  created_at = server.created_at, token = server.token }, wh)
    assert.equal(server.id, stored()["CRM sync"].id)
  end)
end)

describe("animo update", function()
  local CHANGES = {
    { "--name", "CRM v2", "name", "CRM v2" },
    { "--url", "https://crm.example.com/v2", "url", "https://crm.example.com/v2" },
    { "--events", "lead-deleted,meeting-booked", "events", { "lead-deleted", "meeting-booked" } },
  }
  for _, by in ipairs{ "name", "id" } do
    for _, c in ipairs(CHANGES) do
      local flag, value, field, want = c[1], c[2], c[3], c[4]
      it(("changes the %s of a webhook named by its %s; --json shows no token"):format(field, by), function()
        attach("CRM sync")
        local before = emu:webhooks()["CRM sync"]
        local wh = animo_json{ "update", before[by], flag, value, "--json" }
        assert.is_nil(wh.token)
        assert.equal(before.id, wh.id)
        assert.same(want, wh[field])
        local server = emu:state().webhooks[1]
        assert.same(want, server[field])
        assert.equal(before.token, server.token)
        assert.same(want, stored()[server.name][field])
      end)
    end
  end

  it("prints one line naming the webhook", function()
    attach("CRM sync")
    local out = animo_ok{ "update", "CRM sync", "--url", "https://crm.example.com/v2" }
    assert.matches("^[^\n]*CRM sync[^\n]*\n$", out)
    assert.equal("https://crm.example.com/v2", emu:webhooks()["CRM sync"].url)
  end)
end)

describe("animo detach", function()
  for _, by in ipairs{ "name", "id" } do
    for _, json in ipairs{ false, true } do
      it(("removes a webhook named by its %s from Animo and the store%s"):format(by, json and ", --json" or ""), function()
        attach("CRM sync")
        attach("Other")
        local target = emu:webhooks()["CRM sync"][by]
        local out = animo_ok{ "detach", target, json and "--json" or nil }
        assert.matches("^[^\n]+\n$", out)
        assert.truthy(out:find(target, 1, true))
        if json then assert.is_table(cjson.decode(out)) end
        assert.is_nil(emu:webhooks()["CRM sync"])
        local recs = stored()
        assert.is_nil(recs["CRM sync"])
        assert.is_not_nil(recs.Other)
      end)
    end
  end
end)

describe("animo list", function()
  it("with an empty store says so, and --json prints []", function()
    local out = animo_ok{ "list" }
    assert.not_equal("", out)
    assert.equal("[]\n", select(2, animo{ "list", "--json" }))
  end)

  local function chars(s)
    local t = {}
    for _, c in utf8.codes(s) do t[#t + 1] = utf8.char(c) end
    return t
  end

  --- A row's cells cut at the header's column offsets (in characters), checking each starts there.
  local function cells(row, starts)
    local cs, out = chars(row), {}
    for i, s in ipairs(starts) do
      if i > 1 then assert.equal(" ", cs[s - 1], row) end
      assert.not_equal(" ", cs[s], row)
      out[i] = table.concat(cs, "", s, math.min(#cs, (starts[i + 1] or #cs + 1) - 1)):match("^(.-)%s*$")
    end
    return out
  end

  it("prints an aligned table, an unfinished attach with its status and note; no request", function()
    attach("Café", "lead-created,lead-updated")
    attach("B")
    emu:fault{ route = "attach", action = "reset_after" }
    local code, _, err = animo{ "attach", "--name", "Lost", "--url", "https://lost.example.com/in", "--events", "meeting-booked" }
    assert.equal(1, code)
    assert.matches("^animo: [^\n]*Lost[^\n]*\n$", err)
    local hooks, before = emu:webhooks(), requests()

    local out = animo_ok{ "list" }
    local lines = {}
    for line in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    local headers = { "NAME", "ID", "EVENTS", "URL", "STATUS" }
    local starts = {}
    for i, h in ipairs(headers) do starts[i] = lines[1]:find(h, 1, true) end
    assert.same(headers, cells(lines[1], starts))
    assert.same({ "B", hooks.B.id, "lead-created", "https://hooks.example.com/b", "attached" }, cells(lines[2], starts))
    assert.same({ "Café", hooks["Café"].id, "lead-created,lead-updated", "https://hooks.example.com/caf", "attached" },
                cells(lines[3], starts))
    local lost = cells(lines[4], starts)
    assert.same({ "Lost", "meeting-booked", "https://lost.example.com/in", "outcome unknown" },
                { lost[1], lost[3], lost[4], lost[5] })

    local json = animo_json{ "list", "--json" }
    assert.same({ "B", "Café", "Lost" }, { json[1].name, json[2].name, json[3].name })
    assert.same({ "attached", "attached", "outcome unknown" }, { json[1].status, json[2].status, json[3].status })
    assert.is_nil(json[3].id)
    assert.is_string(json[3].note)
    assert.truthy(out:find(json[3].note, 1, true))
    assert.equal(before, requests())
  end)
end)

describe("animo login", function()
  it("saves the access token read from stdin, trimmed, and never prints it", function()
    local token = emu.fixtures.tokens.full
    local out = animo_ok({ "login" }, with{ ANIMO_TOKEN = "" }, "  " .. token .. " \t\n")
    assert.is_nil(out:find(token, 1, true))
    animo_ok(ATTACH, with{ ANIMO_TOKEN = "" })
    assert.equal("Bearer " .. token, emu:log()[1].headers.authorization)
  end)

  local REFUSED = {
    { "an empty stdin", { "login" }, "" },
    { "a blank stdin", { "login" }, " \t\n" },
    { "a token as an argument", { "login", "TOKEN" }, "TOKEN\n" },
  }
  for _, case in ipairs(REFUSED) do
    it("refuses " .. case[1] .. " with exit 2 and saves nothing", function()
      local token = emu.fixtures.tokens.full
      local args = { table.unpack(case[2]) }
      if args[2] then args[2] = token end
      local code, out, err = animo(args, with{ ANIMO_TOKEN = "" }, (case[3]:gsub("TOKEN", token)))
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("usage:", err)
      code, _, err = animo(ATTACH, with{ ANIMO_TOKEN = "" })
      assert.equal(2, code)
      assert.matches("ANIMO_TOKEN", err)
      assert.equal(0, requests())
    end)
  end
end)

describe("animo sync", function()
  local V1 = [[return { webhooks = {
    { name = "A", url = "https://a.example.com/in", events = { "lead-created" } },
    { name = "B", url = "https://b.example.com/in", events = { "lead-created", "lead-updated" } },
  } }]]
  local V2 = [[return { webhooks = {
    { name = "A", url = "https://a.example.com/v2", events = { "lead-created", "lead-deleted" } },
    { name = "C", url = "https://c.example.com/in", events = { "meeting-booked" } },
  } }]]

  it("plans, makes no request on --dry-run, applies, and changes nothing the second time", function()
    local file = write("v1.lua", V1)
    local out = animo_ok{ "sync", file, "--dry-run" }
    assert.is_true(has_line(out, "%+ attach%s+A") and has_line(out, "%+ attach%s+B") and has_line(out, "= 0 unchanged"))
    assert.equal(0, requests())
    out = animo_ok{ "sync", file }
    assert.is_true(has_line(out, "%+ attach%s+A") and has_line(out, "%+ attach%s+B"))
    assert.equal("https://b.example.com/in", emu:webhooks().B.url)
    assert.is_not_nil(stored().A)
    assert.equal(2, requests())
    out = animo_ok{ "sync", file }
    assert.is_true(has_line(out, "= 2 unchanged"))
    assert.is_false(has_line(out, "[-+~] .*"))
    assert.equal(2, requests())
  end)

  it("shows progress on a terminal only, and never with --json", function()
    local file = write("v1.lua", V1)
    local vars = {}
    for k, v in pairs(env) do vars[#vars + 1] = helper.shell_quote(k .. "=" .. v) end
    local function on_terminal(...)  -- util-linux script(1) gives the command a pty
      local cmd = ("env %s %s sync %s %s"):format(table.concat(vars, " "), helper.shell_quote(helper.bin),
        helper.shell_quote(file), table.concat({ ... }, " "))
      local p = io.popen("script -qec " .. helper.shell_quote(cmd) .. " /dev/null")
      local out = p:read("a")
      p:close()
      runs[#runs + 1] = { args = { "sync (pty)" }, out = out, err = "" }
      return out
    end
    local out = on_terminal()
    assert.matches("%[1/2%] attach [AB]", out)
    assert.matches("%[2/2%] attach [AB]", out)
    assert.matches("ok +attach A", out)
    out = on_terminal("--json", "--prune")
    assert.is_nil(out:find("[1/", 1, true))
    out = animo_ok{ "sync", file, "--prune" }           -- stdout not a terminal
    assert.is_nil(out:find("[", 1, true))
  end)

  it("shows updates with their changed fields and detaches only with --prune", function()
    animo_ok{ "sync", write("v1.lua", V1) }
    local file = write("v2.lua", V2)
    local out = animo_ok{ "sync", file, "--dry-run" }
    assert.is_true(has_line(out, "~ update%s+A.*url.*https://a%.example%.com/v2.*"))
    assert.is_true(has_line(out, "~ update%s+A.*events.*lead%-deleted.*"))
    assert.is_true(has_line(out, "%+ attach%s+C") and has_line(out, "= 0 unchanged"))
    assert.is_false(has_line(out, "%- .*"))
    out = animo_ok{ "sync", file, "--dry-run", "--prune" }
    assert.is_true(has_line(out, "%- detach%s+B"))
    assert.equal(2, requests())
    animo_ok{ "sync", file, "--prune" }
    local hooks = emu:webhooks()
    assert.same({ "https://a.example.com/v2", { "lead-created", "lead-deleted" } }, { hooks.A.url, hooks.A.events })
    assert.is_not_nil(hooks.C)
    assert.is_nil(hooks.B)
    local recs = stored()
    assert.same({ "https://a.example.com/v2", true, false }, { recs.A.url, recs.C ~= nil, recs.B ~= nil })
    out = animo_ok{ "sync", file, "--prune" }
    assert.is_true(has_line(out, "= 2 unchanged"))
    assert.equal(5, requests())
  end)

  it("--json prints the plan, the results and dry_run", function()
    animo_ok{ "sync", write("v1.lua", V1) }
    local file = write("v2.lua", V2)
    local doc = animo_json{ "sync", file, "--json", "--prune", "--dry-run" }
    assert.is_true(doc.dry_run)
    assert.same({}, doc.results)
    assert.same({ "update", "attach", "detach" }, { doc.plan[1].action, doc.plan[2].action, doc.plan[3].action })
    assert.same({ "A", "C", "B" }, { doc.plan[1].name, doc.plan[2].name, doc.plan[3].name })
    assert.same({ "https://a.example.com/in", "https://a.example.com/v2" }, doc.plan[1].changes.url)
    assert.is_not_nil(doc.plan[1].changes.events)
    doc = animo_json{ "sync", file, "--json", "--prune" }
    assert.is_false(doc.dry_run)
    assert.equal(3, #doc.results)
    for _, r in ipairs(doc.results) do assert.is_true(r.ok, r.name) end
    assert.equal(emu:webhooks().C.id, doc.results[2].id)
  end)

  it("applies what it can, reports each failure on stderr and exits 1", function()
    animo_ok{ "sync", write("v1.lua", V1) }
    emu:fault{ route = "update", status = 500, times = 10 }
    local code, out, err = animo{ "sync", write("v2.lua", V2) }
    assert.equal(1, code)
    assert.is_true(has_line(out, "~ update%s+A.*"))
    assert.matches("^[^\n]*update[^\n]*A[^\n]*animo: server: [^\n]*\n$", err)
    assert.is_not_nil(emu:webhooks().C)
    assert.is_not_nil(stored().C)
    assert.equal("https://a.example.com/in", stored().A.url)
  end)

  it("reports every problem of an invalid FILE at once, each line naming the file; exit 2", function()
    local file = write("bad.lua", [[return { webhooks = {
      { name = "A", url = "http://a.example.com/in", events = { "lead-created" } },
      { name = "", url = "https://b.example.com/in", events = { "no-such-event" } },
      { name = "A", url = "https://c.example.com/in", events = {} },
    } }]])
    local code, out, err = animo{ "sync", file }
    assert.equal(2, code)
    assert.equal("", out)
    local lines = {}
    for line in err:gmatch("[^\n]+") do
      assert.equal(file .. ": ", line:sub(1, #file + 2))
      lines[#lines + 1] = line
    end
    assert.equal(5, #lines)
    for _, p in ipairs{ "webhooks%[1%].*https", "webhooks%[2%].*name", "webhooks%[2%].*no%-such%-event",
                        "webhooks%[3%].*webhooks%[1%]", "webhooks%[3%].*events" } do
      assert.is_true(has_line(err, ".*" .. p .. ".*"), p)
    end
    assert.equal(0, requests())
  end)

  local UNLOADABLE = {
    { "a syntax error", "syntax.lua", "return {" },
    { "a runtime error", "boom.lua", "error('boom')" },
    { "no table", "number.lua", "return 42" },
    { "a missing file", "missing.lua", nil },
  }
  for _, case in ipairs(UNLOADABLE) do
    it("refuses a FILE with " .. case[1] .. ": exit 2, no request", function()
      local path = case[3] and write(case[2], case[3]) or files .. "/" .. case[2]
      local code, out, err = animo{ "sync", path }
      assert.equal(2, code)
      assert.equal("", out)
      assert.truthy(err:find(path, 1, true))
      assert.equal(0, requests())
    end)
  end
end)

describe("settings flags", function()
  it("replace the environment: login, attach and list with no ANIMO_* variable", function()
    local settings = { "--base-url", emu.base_url, "--ca-file", emu.ca_file, "--store", emu.store_path,
                       "--company", emu.fixtures.companies.pro }
    animo_ok(plus({ "login" }, table.unpack(settings)), {}, emu.fixtures.tokens.full .. "\n")
    animo_ok(plus(ATTACH, table.unpack(settings)), {})
    assert.equal(emu.fixtures.companies.pro, emu:webhooks()["CRM sync"].company)
    local list = animo_json(plus({ "list", "--json" }, table.unpack(settings)), {})
    assert.equal("CRM sync", list[1].name)
  end)

  it("take the --flag=value form and win over the environment", function()
    local wrong = with{ ANIMO_COMPANY = emu.fixtures.companies.free, ANIMO_STORE = files .. "/elsewhere.json",
                        ANIMO_BASE_URL = "https://127.0.0.1:1/api/v1", ANIMO_CA_FILE = emu.certs.other_ca }
    local settings = { "--base-url=" .. emu.base_url, "--ca-file=" .. emu.ca_file, "--store=" .. emu.store_path,
                       "--company=" .. emu.fixtures.companies.pro }
    animo_ok(plus({ "attach", "--name=CRM sync", "--url=https://crm.example.com/animo",
                    "--events=lead-created,lead-updated" }, table.unpack(settings)), wrong)
    local server = emu:webhooks()["CRM sync"]
    assert.same({ emu.fixtures.companies.pro, { "lead-created", "lead-updated" } }, { server.company, server.events })
    assert.equal(server.id, animo_json(plus({ "list", "--json" }, table.unpack(settings)), wrong)[1].id)
  end)
end)

describe("errors", function()
  local USAGE = {
    { "an unknown flag", { "list", "--bogus" } },
    { "an unknown short flag", { "list", "-x" } },
    { "a flag without its value", { "attach", "--name", "CRM", "--url", "https://crm.example.com/animo", "--events" } },
    { "a settings flag without its value", { "list", "--company" } },
    { "a flag given twice", plus(ATTACH, "--name", "Other") },
    { "a settings flag given twice", { "list", "--store", "a.json", "--store", "b.json" } },
    { "a value for a switch", { "list", "--json=yes" } },
    { "an argument to attach", plus(ATTACH, "extra") },
    { "an argument to list", { "list", "extra" } },
    { "update without WEBHOOK", { "update", "--url", "https://crm.example.com/v2" } },
    { "update with two WEBHOOKs", { "update", "a", "b", "--url", "https://crm.example.com/v2" } },
    { "detach without WEBHOOK", { "detach" } },
    { "detach with two WEBHOOKs", { "detach", "a", "b" } },
    { "sync without FILE", { "sync" } },
    { "sync with two FILEs", { "sync", "a.lua", "b.lua" } },
    { "help for no such command", { "help", "nosuch" } },
    { "help with two commands", { "help", "list", "sync" } },
    { "a switch given twice", { "list", "--json", "--json" } },
  }
  for _, case in ipairs(USAGE) do
    it("exit 2 with usage: on stderr for " .. case[1], function()
      local code, out, err = animo(case[2])
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("usage:", err)
      assert.equal(0, requests())
    end)
  end

  it("exit 2 naming the option and variable when no company is set", function()
    local code, out, err = animo({ "list" }, with{ ANIMO_COMPANY = "" })
    assert.equal(2, code)
    assert.equal("", out)
    assert.equal("animo: usage: no company: set the company option or ANIMO_COMPANY\n", err)
  end)

  local API = {
    { "auth", function() return with{ ANIMO_TOKEN = "not-a-valid-token" } end },
    { "forbidden", function() return with{ ANIMO_COMPANY = emu.fixtures.companies.free } end },
    { "validation", function() attach("CRM sync") return env end },  -- the server's 422: name taken
  }
  for _, case in ipairs(API) do
    it("exit 1 with one line `animo: " .. case[1] .. ": …` on stderr for an API error", function()
      local code, out, err = animo(ATTACH, case[2]())
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^animo: " .. case[1] .. ": [^\n]*\n$", err)
    end)
  end

  local CLIENT = {
    { "an http:// url", { "attach", "--name", "X", "--url", "http://crm.example.com/animo", "--events", "lead-created" } },
    { "an empty name", { "attach", "--name=", "--url", "https://crm.example.com/animo", "--events", "lead-created" } },
    { "an unknown event", { "attach", "--name", "X", "--url", "https://crm.example.com/animo", "--events", "lead-exploded" } },
    { "a scope the token lacks", { "attach", "--name", "X", "--url", "https://crm.example.com/animo", "--events", "meeting-booked" },
      "leads" },
    { "a webhook not in the store", { "update", "nosuch", "--url", "https://crm.example.com/v2" } },
    { "an update without a change", { "update", "CRM sync" } },
  }
  for _, case in ipairs(CLIENT) do
    it("exit 2 and no request for a client-side validation error: " .. case[1], function()
      attach("CRM sync")
      local before = requests()
      local e = case[3] and with{ ANIMO_TOKEN = emu.fixtures.tokens[case[3]] } or env
      local code, out, err = animo(case[2], e)
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("^animo: validation: [^\n]*\n$", err)
      if case[3] then assert.matches("meetings:subscribe", err) end
      assert.equal(before, requests())
    end)
  end
end)

describe("animo help", function()
  local NAMES = { "attach", "update", "detach", "list", "login", "sync", "doctor", "help" }

  it("lists every command with an example of each", function()
    local out = animo_ok{ "help" }
    for _, name in ipairs(NAMES) do
      assert.matches("\n%s+" .. name .. "%s", out)
      assert.matches("\n%s+animo " .. name .. "[ \n]", out)
    end
  end)

  for _, name in ipairs(NAMES) do
    it("help " .. name .. " prints its usage and an example", function()
      local out = animo_ok{ "help", name }
      assert.matches("usage: animo " .. name, out, 1, true)
      assert.matches("\nExample:\n%s+animo " .. name .. "[ \n]", out)
    end)
  end
end)

describe("a file path wins over a command name", function()
  it("runs a script named list, given by path or found in the current folder", function()
    local dir = helper.tmpdir()
    helper.write_file(dir .. "/list", 'print("script")')
    local code, out, err = animo{ dir .. "/list" }
    assert.same({ 0, "script\n", "" }, { code, out, err })
    local q = helper.shell_quote
    local _, _, rc = os.execute(("cd %s && env -u ANIMO_STORE %s list > out 2> err"):format(q(dir), q(helper.bin)))
    out, err = helper.read_file(dir .. "/out"), helper.read_file(dir .. "/err")
    runs[#runs + 1] = { args = { "list" }, out = out, err = err }
    assert.same({ 0, "script\n", "" }, { rc, out, err })
    helper.rmtree(dir)
  end)
end)

describe("secrets", function()
  it("no command above printed an access or webhook token (attach --json's stdout aside)", function()
    collect_secrets()
    local shown = 0  -- tokens in attach --json output: proves the secrets were collected
    for _, r in ipairs(runs) do
      local attach_json = r.args[1] == "attach" and (" " .. table.concat(r.args, " ") .. " "):find(" --json ")
      for token in pairs(secrets) do
        if attach_json then
          if r.out:find(token, 1, true) then shown = shown + 1 end
        else
          assert.is_nil(r.out:find(token, 1, true), "stdout of animo " .. table.concat(r.args, " "))
        end
        assert.is_nil(r.err:find(token, 1, true), "stderr of animo " .. table.concat(r.args, " "))
      end
    end
    assert.is_true(#runs > 50)
    assert.is_true(shown > 0)
  end)
end)
