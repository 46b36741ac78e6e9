-- The token store (API.md §2 update/detach/webhooks, §7) with real files
-- and real processes: where it lives, its permissions, atomic replace,
-- refusal of bad files, and how attach, update and detach keep it.
local helper = require "spec.support.helper"
local animo = require "animo"
local cjson = require "cjson"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local SPEC = { name = "CRM sync", url = "https://crm.example.com/animo", events = { "lead-created" } }

local function client(extra)
  return animo.client(emu:options(extra))
end

local function mode(path)
  local p = io.popen("stat -c %a " .. helper.shell_quote(path) .. " 2>/dev/null")
  local m = p:read("l")
  p:close()
  return m
end

local function stored_doc()
  local text = helper.read_file(emu.store_path)
  assert.is_string(text)
  return cjson.decode(text)
end

local function account(doc)
  return doc.servers[emu.base_url].companies[emu.fixtures.companies.pro]
end

-- Whether the store document says it holds every note of the lock file.
local function notes_folded()
  local lock = helper.read_file(emu.store_path .. ".lock")
  local name = lock:match('^{"notes":"(%x+)"}\n') or ""
  return stored_doc().notes_folded == ("%s:%d"):format(name, #lock)
end

-- Runs Lua code in the animo binary with this emulator's settings in the
-- environment (no store option: the environment decides). `shell` runs
-- first (e.g. "umask 000;"), `wrap` goes before the command (e.g. setpriv).
local function run_lua(code, env, shell, wrap)
  local vars = { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file,
                 ANIMO_COMPANY = emu.fixtures.companies.pro, ANIMO_TOKEN = emu.fixtures.tokens.full }
  for k, v in pairs(env or {}) do vars[k] = v end
  if not shell and not wrap then return helper.run({ "-e", code }, vars) end
  local dir = helper.tmpdir()
  local parts = { shell or "", "exec", wrap or "", "env" }
  for k, v in pairs(vars) do parts[#parts + 1] = helper.shell_quote(k .. "=" .. v) end
  parts[#parts + 1] = helper.shell_quote(helper.bin) .. " -e " .. helper.shell_quote(code)
  parts[#parts + 1] = ("> %s/out 2> %s/err"):format(dir, dir)
  local _, _, rc = os.execute("sh -c " .. helper.shell_quote(table.concat(parts, " ")))
  local out, err = helper.read_file(dir .. "/out"), helper.read_file(dir .. "/err")
  helper.rmtree(dir)
  return rc, out, err
end

describe("store location", function()
  local LOGIN = "assert(require('animo').client():login('saved-token-123')) print('ok')"

  it("uses ANIMO_STORE, else XDG_DATA_HOME, else ~/.local/share", function()
    local dir = helper.tmpdir()
    assert.equal(0, (run_lua(LOGIN, { ANIMO_STORE = dir .. "/a/store.json" })))
    assert.is_not_nil(helper.read_file(dir .. "/a/store.json"))
    assert.equal(0, (run_lua(LOGIN, { XDG_DATA_HOME = dir .. "/xdg" })))
    assert.is_not_nil(helper.read_file(dir .. "/xdg/animo/store.json"))
    assert.equal(0, (run_lua(LOGIN, { HOME = dir .. "/home" })))
    assert.is_not_nil(helper.read_file(dir .. "/home/.local/share/animo/store.json"))
    helper.rmtree(dir)
  end)

  it("is a file 0600 in folders 0700 whatever the umask", function()
    local dir = helper.tmpdir()
    local path = dir .. "/new/deeper/store.json"
    local code, out, err = run_lua(LOGIN, { ANIMO_STORE = path }, "umask 000;")
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("ok\n", out)
    assert.equal("600", mode(path))
    assert.equal("700", mode(dir .. "/new"))
    assert.equal("700", mode(dir .. "/new/deeper"))
    assert.equal("600", mode(path .. ".lock"))
    helper.rmtree(dir)
  end)

  it("flushes each change to disk before returning: fsync, rename, fsync of the folder", function()
    local dir = helper.tmpdir()
    local path = dir .. "/store.json"
    local cmd = ("env ANIMO_STORE=%s strace -f -qq -e trace=fsync,rename,openat -o %s/trace %s -e %s > /dev/null 2>&1")
      :format(path, dir, helper.shell_quote(helper.bin),
              helper.shell_quote("assert(require('animo').client():login('t-1234567')) print('saved')"))
    assert.is_true(os.execute(cmd))
    local calls = {}
    for line in io.lines(dir .. "/trace") do
      local call = line:match("^%d+%s+(%a+)%(")
      if call == "fsync" or call == "rename" or (call == "openat" and line:find(dir, 1, true) and line:find("O_DIRECTORY")) then
        calls[#calls + 1] = call == "openat" and "open folder" or call
      end
    end
    -- (an earlier open of the folder looks for temp files of killed writers)
    assert.matches("fsync,rename,open folder,fsync$", table.concat(calls, ","))
    helper.rmtree(dir)
  end)

  it("reports a store path it cannot find the same way on every call", function()
    local code, out = run_lua([[
      local wh = assert(require("animo").client{ store = false }:attach{ name = "nowhere", url = "https://n.example/",
                                                                         events = { "lead-created" } })
      local c = require("animo").client()
      local _, e1 = c:update(wh, { url = "https://n1.example/" })
      local _, e2 = c:update(wh, { url = "https://n2.example/" })
      print(e1.kind, e1.message == e2.message, e1.message)
    ]], { HOME = "", ANIMO_STORE = "", XDG_DATA_HOME = "" })
    assert.equal(0, code)
    assert.equal('store\ttrue\twebhook "nowhere" was updated but the store could not be: keep its token from the '
                 .. "returned record (no store path: set the store option, ANIMO_STORE or HOME)\n", out)
  end)

  it("keeps nothing on disk with store = false", function()
    local dir = helper.tmpdir()
    local code, out = run_lua([[
      local c = require("animo").client{ store = false }
      local wh = assert(c:attach{ name = "mem", url = "https://m.example/", events = { "lead-created" } })
      local _, err = c:update("mem", { url = "https://m2.example/" })
      print(err.kind, #c:webhooks(), c:update(wh, { url = "https://m3.example/" }).url)
    ]], { HOME = dir, ANIMO_STORE = dir .. "/s.json" })
    assert.equal(0, code)
    assert.equal("validation\t0\thttps://m3.example/\n", out)
    assert.is_nil(helper.read_file(dir .. "/s.json"))
    assert.is_nil(helper.read_file(dir .. "/.local/share/animo/store.json"))
    helper.rmtree(dir)
  end)
end)

describe("store contents", function()
  it("holds each attached webhook's record, readable JSON keyed by base_url and company", function()
    local wh = assert(client():attach(SPEC))
    local text = helper.read_file(emu.store_path)
    assert.matches('\n  "servers": {\n', text)
    local rec = account(stored_doc()).webhooks[wh.id]
    assert.same({ id = wh.id, name = "CRM sync", url = SPEC.url, events = { "lead-created" },
                  created_at = wh.created_at, token = wh.token }, rec)
    assert.same({}, account(stored_doc()).pending)
  end)

  it("lists records sorted by name, with tokens hidden from tostring", function()
    local c = client()
    for _, name in ipairs{ "zeta", "alpha", "mid" } do
      assert(c:attach{ name = name, url = SPEC.url, events = SPEC.events })
    end
    local list = assert(c:webhooks())
    assert.same({ "alpha", "mid", "zeta" }, { list[1].name, list[2].name, list[3].name })
    for _, wh in ipairs(list) do
      assert.equal("attached", wh.status)
      assert.is_string(wh.token)
      assert.is_nil(tostring(wh):find(wh.token, 1, true))
    end
    assert.same({}, client{ company = emu.fixtures.companies.free }:webhooks())
    assert.equal(3, #emu:log())  -- listing made no request
  end)

  it("updates and detaches by id, by name and by record, keeping the store in step", function()
    local c = client()
    local wh = assert(c:attach(SPEC))
    local by_name = assert(c:update("CRM sync", { url = "https://v2.example/" }))
    assert.equal("https://v2.example/", by_name.url)
    assert.equal(wh.token, by_name.token)
    local by_id = assert(c:update(wh.id, { name = "CRM renamed" }))
    assert.equal("CRM renamed", by_id.name)
    assert.equal("https://v2.example/", by_id.url)
    assert.equal("CRM renamed", account(stored_doc()).webhooks[wh.id].name)
    local by_record = assert(c:update({ id = wh.id }, { events = { "lead-deleted" } }))  -- token from the store
    assert.same({ "lead-deleted" }, by_record.events)
    assert.same({ "lead-deleted" }, account(stored_doc()).webhooks[wh.id].events)

    assert.is_true(c:detach("CRM renamed"))
    assert.is_nil(account(stored_doc()).webhooks[wh.id])
    assert.is_nil(next(emu:webhooks()))

    local other = assert(c:attach{ name = "other", url = SPEC.url, events = SPEC.events })
    assert.is_true(c:detach(other.id))
    assert.same({}, assert(c:webhooks()))
  end)

  it("stores a rotated token from an update", function()
    emu:settings{ update_token = "rotate" }
    local c = client()
    local wh = assert(c:attach(SPEC))
    local updated = assert(c:update("CRM sync", { url = "https://v2.example/" }))
    assert.are_not.equal(wh.token, updated.token)
    assert.equal(updated.token, account(stored_doc()).webhooks[wh.id].token)
    assert.is_true(c:detach("CRM sync"))  -- works with the new token
  end)

  it("keeps what other writers saved between two changes of one client", function()
    local a, b = client(), client()
    assert(a:attach(SPEC))                           -- a's next change may reuse what it wrote…
    assert(b:attach{ name = "B", url = "https://b.example/", events = { "lead-created" } })
    local f = assert(io.open(emu.store_path, "r+"))  -- …unless the file changed, even by one byte
    local text = f:read("a")
    f:seek("set", 0)
    local edited, n = text:gsub("https://b%.example/", "https://c.example/")
    assert.equal(1, n)
    f:write(edited)
    f:close()
    assert(a:update("CRM sync", { url = "https://v2.example/" }))
    local hooks = account(stored_doc()).webhooks
    local urls = {}
    for _, rec in pairs(hooks) do urls[rec.name] = rec.url end
    assert.same({ ["CRM sync"] = "https://v2.example/", B = "https://c.example/" }, urls)
  end)

  it("says clearly when a webhook is unknown to the store", function()
    local _, err = client():update("nobody", { url = "https://x.example/" })
    assert.equal("validation", err.kind)
    assert.matches('cannot find the id and token of webhook "nobody": the store .* has no webhook with that id or name', err.message)
    assert.equal(0, #emu:log())
  end)

  it("falls back to the access token saved by login", function()
    assert(client():login(emu.fixtures.tokens.full))
    local code, out, err = run_lua([[
      print(assert(require("animo").client():attach{ name = "n", url = "https://n.example/", events = { "lead-created" } }).name)
    ]], { ANIMO_TOKEN = "", ANIMO_STORE = emu.store_path })
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("n\n", out)
    assert.equal("Bearer " .. emu.fixtures.tokens.full, emu:log()[1].headers.authorization)
    local _, login_err = client():login("has space")
    assert.equal("validation", login_err.kind)
  end)
end)

describe("attach outcome unknown", function()
  it("keeps the intent of an attach that timed out and lists it", function()
    emu:fault{ route = "attach", delay_ms = 1500 }
    local c = client{ timeout = 0.5 }
    local wh, err = c:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("timeout", err.kind)
    local list = assert(c:webhooks())
    assert.equal(1, #list)
    assert.equal("CRM sync", list[1].name)
    assert.equal("outcome unknown", list[1].status)
    assert.is_nil(list[1].id)
    assert.matches("attach it again", list[1].note)
    assert.same({ "lead-created" }, list[1].events)
  end)

  it("notes the intent in the lock file while the attach is out, and keeps a timed-out one in the store", function()
    assert(client():login("warm-up-token"))  -- the store exists
    local before = helper.read_file(emu.store_path)
    emu:fault{ route = "attach", delay_ms = 1500 }
    local script = [[
      local _, err = require("animo").client{ timeout = 1 }:attach{ name = "slow", url = "https://s.example/", events = { "lead-created" } }
      print(err.kind)
    ]]
    local dir = helper.tmpdir()
    local env = ("ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s")
      :format(emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full, emu.store_path)
    os.execute(("env %s %s -e %s > %s/out 2>&1 &"):format(env, helper.shell_quote(helper.bin),
      helper.shell_quote(script), dir))
    assert.is_truthy(helper.wait_for(function() return #emu:log() == 1 end, 10))
    -- In flight: the store file is as it was; the lock file holds the note,
    -- and a reader lists it.
    assert.equal(before, helper.read_file(emu.store_path))
    assert.matches('"name":"slow"', helper.read_file(emu.store_path .. ".lock"))
    assert.equal("outcome unknown", client():webhooks()[1].status)
    assert.is_truthy(helper.wait_for(function() return helper.read_file(dir .. "/out") == "timeout\n" end, 10))
    -- Timed out: the intent is in the store itself, which holds the note.
    assert.equal("slow", account(stored_doc()).pending.slow.name)
    assert.is_true(notes_folded())
    helper.rmtree(dir)
  end)

  it("writes the store once per attach: the intent costs no fsync, and notes are cleared in place once many", function()
    local dir = helper.tmpdir()
    local path = dir .. "/store.json"
    local code = ([[
      assert(require("animo").client():login("t-1234567"))  -- makes the store
      io.stderr:write("ATTACH\n")
      local c = require("animo").client()
      assert(c:attach{ name = "once", url = "https://o.example/", events = { "lead-created" } })
      assert(c:update("once", { url = "https://o2.example/" }))
      io.stderr:write("MANY\n")
      for i = 1, 30 do  -- about 170 bytes of notes each
        assert(c:attach{ name = "many " .. i, url = "https://m.example/", events = { "lead-created" } })
      end
    ]])
    local cmd = ("env ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s "
                 .. "strace -f -qq -e trace=fsync,fdatasync,ftruncate,write -e signal=none -o %s/trace %s -e %s > /dev/null 2>&1")
      :format(emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full, path, dir,
              helper.shell_quote(helper.bin), helper.shell_quote(code))
    assert.is_true(os.execute(cmd))
    local syncs, truncates, phase = 0, {}, nil
    for line in io.lines(dir .. "/trace") do
      phase = line:match("(%u%u%u+)\\n") or phase
      if phase == "ATTACH" and line:find("sync(", 1, true) then syncs = syncs + 1 end
      if phase then truncates[#truncates + 1] = line:match("ftruncate%(%d+, (%d+)%)") end
    end
    assert.equal("MANY", phase)
    assert.equal(4, syncs)  -- the record's file and its folder, then the update's
    -- The note stays, folded in, until the notes pass 4 KiB; then they are
    -- cut to the header's length (a cut to zero frees the block, and ext4
    -- flushes it on close).
    assert.same({ "29" }, truncates)
    helper.rmtree(dir)
  end)

  it("skips a torn note and folds the next one after it", function()
    assert(client():login("warm-up-token"))
    local f = assert(io.open(emu.store_path .. ".lock", "a"))
    f:write('{"base_url":"x","company":\n\0\0\0{"base_url":')
    f:close()
    assert.same({}, client():webhooks())
    assert(client():attach(SPEC))
    assert.equal("attached", client():webhooks()[1].status)
    assert.is_true(notes_folded())
  end)

  it("empties a full lock file whose first line is not a notes header", function()
    assert(client():login("warm-up-token"))
    helper.write_file(emu.store_path .. ".lock", "not a header\n" .. ("x"):rep(5000) .. "\n")
    assert(client():attach(SPEC))
    assert.matches("^{\"notes\":\"%x+\"}\n$", helper.read_file(emu.store_path .. ".lock"))
    assert.equal("attached", client():webhooks()[1].status)
  end)

  it("does not fold in again notes whose clearing never reached the disk, and notes after a torn line", function()
    local store = require "animo.store"
    local base, company = emu.base_url, emu.fixtures.companies.pro
    local intent = { name = "w", url = "https://w.example/", events = { "lead-created" }, started_at = "2026-12-03T00:00:00+00:00" }
    local function note(st)
      local _, err = st:change(5, function() return false, store.note_line(base, company, intent) end, true)
      assert.is_nil(err)
    end
    local st = store.open(emu.store_path)
    note(st)
    local uncleared = helper.read_file(emu.store_path .. ".lock")
    assert(st:change(5, function(doc)                -- the attach settles: the note is folded in
      local acct = store.account(doc, base, company, true)
      acct.pending.w = nil
      acct.webhooks.id1 = { id = "id1", name = "w", url = intent.url, events = intent.events, token = "t-12345678" }
    end))
    local f = assert(io.open(emu.store_path .. ".lock", "w"))  -- as if the clear was lost
    f:write(uncleared)
    f:close()
    local doc = assert(store.open(emu.store_path):load())
    assert.is_nil(store.account(doc, base, company).pending.w)
    f = assert(io.open(emu.store_path .. ".lock", "a"))  -- a torn line, then a new note
    f:write('{"base_url":"x","comp')
    f:close()
    intent.name = "after"
    note(store.open(emu.store_path))
    doc = assert(store.open(emu.store_path):load())
    assert.equal("after", store.account(doc, base, company).pending.after.name)
  end)

  it("keeps the intent when a re-attach finds the name taken, and settles it when one succeeds", function()
    emu:fault{ route = "attach", action = "reset_after" }
    local c = client()
    assert.is_nil((c:attach(SPEC)))            -- created, answer lost
    local _, err = c:attach(SPEC)              -- name taken: the intent stays
    assert.equal("validation", err.kind)
    assert.equal("outcome unknown", c:webhooks()[1].status)
    local server = emu:webhooks()["CRM sync"]  -- delete it as someone would in Animo
    assert(animo.client(emu:options{ store = false }):detach{ id = server.id, token = server.token })
    assert.equal("outcome unknown", c:webhooks()[1].status)
    assert(c:attach(SPEC))
    local list = c:webhooks()
    assert.equal(1, #list)
    assert.equal("attached", list[1].status)
  end)

  it("removes the intent of an attach that was surely refused", function()
    local _, err = client{ company = emu.fixtures.companies.free }:attach(SPEC)
    assert.equal("forbidden", err.kind)
    assert.same({}, client{ company = emu.fixtures.companies.free }:webhooks())
  end)

  it("lists an attach whose process was killed as outcome unknown", function()
    emu:fault{ route = "attach", action = "hang", max_ms = 20000 }
    local dir = helper.tmpdir()
    local env = ("ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s")
      :format(emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full, emu.store_path)
    local script = [[require("animo").client():attach{ name = "killed", url = "https://k.example/", events = { "lead-created" } }]]
    os.execute(("env %s %s -e %s > /dev/null 2>&1 & echo $! > %s/pid"):format(env, helper.shell_quote(helper.bin),
      helper.shell_quote(script), dir))
    local pid = helper.read_file(dir .. "/pid"):match("%d+")
    assert.is_truthy(helper.wait_for(function() return #emu:log() == 1 end, 10))
    os.execute("kill -9 " .. pid)
    helper.wait_for(function() return not helper.read_file("/proc/" .. pid .. "/stat") end, 5)
    local list = assert(client():webhooks())
    assert.equal(1, #list)
    assert.equal("killed", list[1].name)
    assert.equal("outcome unknown", list[1].status)
    helper.rmtree(dir)
  end)

  it("returns the webhook with a store error when its token cannot be saved", function()
    assert(client():login("warm-up-token"))  -- the store exists
    emu:fault{ route = "attach", delay_ms = 1000 }
    local dir = helper.tmpdir()
    local script = [[
      local wh, err = require("animo").client():attach{ name = "unsaved", url = "https://u.example/", events = { "lead-created" } }
      print(wh.name, #wh.token, err.kind)
      io.stderr:write(err.message)
    ]]
    local env = ("ANIMO_BASE_URL=%s ANIMO_CA_FILE=%s ANIMO_COMPANY=%s ANIMO_TOKEN=%s ANIMO_STORE=%s")
      :format(emu.base_url, emu.ca_file, emu.fixtures.companies.pro, emu.fixtures.tokens.full, emu.store_path)
    os.execute(("env %s %s -e %s > %s/out 2> %s/err & echo $! > %s/pid"):format(env, helper.shell_quote(helper.bin),
      helper.shell_quote(script), dir, dir, dir))
    assert.is_truthy(helper.wait_for(function() return #emu:log() == 1 end, 10))
    helper.write_file(emu.store_path, "{ broken")   -- the store breaks while the request is out
    local pid = helper.read_file(dir .. "/pid"):match("%d+")
    helper.wait_for(function() return not helper.read_file("/proc/" .. pid .. "/stat") end, 10)
    local token = emu:webhooks()["unsaved"].token
    assert.equal(("unsaved\t%d\tstore\n"):format(#token), helper.read_file(dir .. "/out"))
    local msg = helper.read_file(dir .. "/err")
    assert.matches('webhook "unsaved" was created but its token could not be saved', msg)
    assert.is_nil(msg:find(token, 1, true))
    assert.equal("{ broken", helper.read_file(emu.store_path))
    helper.rmtree(dir)
  end)
end)

describe("bad stores", function()
  local c
  before_each(function()
    assert(client():login("a-saved-token"))  -- the store exists
    c = client()
  end)

  it("refuses a store other users can read, giving the chmod fix", function()
    os.execute("chmod 644 " .. emu.store_path)
    local before = helper.read_file(emu.store_path)
    local _, err = c:attach(SPEC)
    assert.equal("store", err.kind)
    assert.equal(("store %s is open to other users (mode 644): run chmod 600 %s"):format(emu.store_path, emu.store_path), err.message)
    assert.equal(before, helper.read_file(emu.store_path))
    assert.equal(0, #emu:log())
    assert.equal("store", select(2, c:webhooks()).kind)
  end)

  it("refuses a store that belongs to another user", function()
    local as_root = io.popen("id -u"):read("l") == "0"
    if as_root then
      os.execute("chown nobody " .. emu.store_path)
    else  -- a non-root user cannot give a file away: take one of root's
      assert(os.remove(emu.store_path))
      os.execute("ln /etc/hostname " .. emu.store_path)
    end
    local _, err = c:attach(SPEC)
    assert.equal("store", err.kind)
    assert.matches(as_root and "belongs to another user" or "open to other users", err.message)
    assert.equal(0, #emu:log())
  end)

  it("refuses a symlinked store", function()
    local real = emu.store_path .. ".real"
    assert(os.rename(emu.store_path, real))
    os.execute(("ln -s %s %s"):format(real, emu.store_path))
    local _, err = c:attach(SPEC)
    assert.equal("store", err.kind)
    assert.matches("is a symbolic link", err.message)
    assert.equal(0, #emu:log())
    os.remove(emu.store_path)
    os.remove(real)
  end)

  it("reports a corrupt store by name and leaves it byte for byte", function()
    local garbage = '{"animo_store": 1, "servers": {\0\255 oops'
    helper.write_file(emu.store_path, garbage)
    local _, err = c:attach(SPEC)
    assert.equal("store", err.kind)
    assert.matches("store " .. emu.store_path:gsub("%p", "%%%0") .. " cannot be parsed", err.message)
    assert.matches("will not overwrite it", err.message)
    assert.equal(0, #emu:log())
    _, err = c:login("another-token")
    assert.equal("store", err.kind)
    assert.equal(garbage, helper.read_file(emu.store_path))
  end)

  it("refuses a JSON file that is not an animo store, or a newer format", function()
    for _, text in ipairs{ "[1,2,3]", '{"animo_store": 99, "servers": {}}', '"x"' } do
      helper.write_file(emu.store_path, text)
      local _, err = c:login("t-123456")
      assert.equal("store", err.kind)
      assert.equal(text, helper.read_file(emu.store_path))
    end
  end)

  it("refuses a hand-edited store whose parts have the wrong shape, naming where", function()
    local function doc(company)
      return ('{"animo_store": 1, "servers": {"%s": {"companies": {"%s": %s}}}}')
        :format(emu.base_url, emu.fixtures.companies.pro, company)
    end
    local CASES = {
      { '{"animo_store": 1, "servers": [1, 2]}', "servers" },
      { '{"animo_store": 1, "servers": {"x": {"access_token": 5}}}', 'servers["x"]' },
      { doc('{"webhooks": [1]}'), ".webhooks" },
      { doc('{"webhooks": {"id1": 5}}'), '.webhooks["id1"]' },
      { doc('{"webhooks": {"id1": {"name": "n", "events": [1]}}}'), '.webhooks["id1"]' },
      { doc('{"webhooks": {"id1": {"name": "n", "token": null}}}'), '.webhooks["id1"]' },
      { doc('{"pending": {"n": {"url": "u"}}}'), '.pending["n"]' },
    }
    for _, case in ipairs(CASES) do
      helper.write_file(emu.store_path, case[1])
      local list, err = c:webhooks()
      assert.is_nil(list)
      assert.equal("store", err.kind)
      assert.matches("has something unexpected at ", err.message, 1, true)
      assert.matches(case[2] .. "; animo will not overwrite it", err.message, 1, true)
      _, err = c:attach(SPEC)
      assert.equal("store", err.kind)
      assert.equal(case[1], helper.read_file(emu.store_path))
    end
    assert.equal(0, #emu:log())
  end)

  it("gives up waiting for a lock held by another process", function()
    local dir = helper.tmpdir()
    local holder = ([[
      local st = require("animo.core").store(%q)
      assert(st:lock(1))
      io.open(%q, "w"):close()
      require("animo.core").sleep(30)
    ]]):format(emu.store_path, dir .. "/held")
    os.execute(("%s -e %s > /dev/null 2>&1 & echo $! > %s/pid"):format(helper.shell_quote(helper.bin),
      helper.shell_quote(holder), dir))
    assert.is_truthy(helper.wait_for(function() return helper.read_file(dir .. "/held") end, 5))
    local _, err = client{ deadline = 0.5 }:attach(SPEC)
    assert.equal("store", err.kind)
    assert.matches("is locked by another process %(waited %d+ ms%)", err.message)
    assert.equal(0, #emu:log())
    assert.is_table(c:webhooks())  -- reading needs no lock
    os.execute("kill -9 " .. helper.read_file(dir .. "/pid"):match("%d+"))
    helper.rmtree(dir)
  end)

  it("reports a full disk as a store error and keeps the old file", function()
    assert(c:attach(SPEC))
    local before = helper.read_file(emu.store_path)
    -- SIGXFSZ ignored, so writing past the limit fails with EFBIG.
    local code, out = run_lua([[
      local c = require("animo").client()
      local _, err = c:attach{ name = "]] .. ("n"):rep(200) .. [[", url = "https://f.example/", events = { "lead-created" } }
      print(err.kind, #c:webhooks())
    ]], { ANIMO_STORE = emu.store_path }, "trap '' XFSZ; ulimit -f 1;")
    assert.equal(0, code)
    assert.equal("store\t1\n", out)
    assert.equal(before, helper.read_file(emu.store_path))
    local dir = emu.store_path:match("^(.*)/")
    assert.equal("", io.popen("ls -A " .. dir .. " | grep tmp"):read("a"))
  end)

  it("lists from a read-only folder but refuses to change it", function()
    local base = os.tmpname()
    os.remove(base)
    os.execute("mkdir -m 755 " .. base .. " && mkdir -m 700 " .. base .. "/ro")
    -- root ignores permissions: act as nobody instead
    local as_root = io.popen("id -u"):read("l") == "0"
    local wrap = as_root and "setpriv --reuid=nobody --regid=nogroup --clear-groups" or nil
    if as_root then os.execute("chown nobody " .. base .. "/ro") end
    os.execute(("cp %s %s/ca.pem && chmod 644 %s/ca.pem"):format(emu.ca_file, base, base))
    local env = { ANIMO_STORE = base .. "/ro/store.json", ANIMO_CA_FILE = base .. "/ca.pem", HOME = base }
    local function as_user(code)
      return run_lua(code, env, nil, wrap or " ")
    end
    local rc, out, err = as_user([[
      local c = require("animo").client()
      assert(c:attach{ name = "kept", url = "https://k.example/", events = { "lead-created" } })
      print("ok")
    ]])
    assert.equal("", err)
    assert.equal(0, rc)
    assert.equal("ok\n", out)
    local before = helper.read_file(base .. "/ro/store.json")
    os.execute("chmod 500 " .. base .. "/ro")
    rc, out = as_user([[
      local c = require("animo").client()
      local list = assert(c:webhooks())
      local _, err = c:attach{ name = "new", url = "https://n.example/", events = { "lead-created" } }
      local _, err2 = c:detach("kept")
      print(#list, list[1].name, err.kind, err2.kind)
    ]])
    assert.equal(0, rc)
    assert.equal("1\tkept\tstore\tstore\n", out)
    assert.equal(before, helper.read_file(base .. "/ro/store.json"))
    assert.is_nil(emu:webhooks()["new"])
    os.execute("chmod 700 " .. base .. "/ro; rm -rf " .. base)
  end)
end)

describe("store layout", function()
  local store = require "animo.store"
  local core = require "animo.core"

  it("puts each key of the document's nesting on its own line, sorted, and each record on one line", function()
    local doc = {
      animo_store = 1,
      servers = {
        ["https://b.example/api/v1"] = {
          access_token = "tok/1",
          extra = { list = { 1, 2 } },  -- not animo's: kept, on one line
          companies = { c1 = { pending = {}, webhooks = { id1 = { url = "https://h.example/x" } } } },
        },
        ["https://a.example/api/v1"] = { companies = {} },
      },
    }
    assert.equal(table.concat({
      '{',
      '  "animo_store": 1,',
      '  "servers": {',
      '    "https://a.example/api/v1": {',
      '      "companies": {}',
      '    },',
      '    "https://b.example/api/v1": {',
      '      "access_token": "tok/1",',
      '      "companies": {',
      '        "c1": {',
      '          "pending": {},',
      '          "webhooks": {',
      '            "id1": {"url":"https://h.example/x"}',
      '          }',
      '        }',
      '      },',
      '      "extra": {"list":[1,2]}',
      '    }',
      '  }',
      '}',
      '',
    }, "\n"), store.encode(doc))
  end)

  it("sorts keys bytewise and escapes the keys and values JSON needs escaped", function()
    local doc = { animo_store = 1, servers = { b = {}, B = {}, a = {}, ['q"\\/\n\0\xe2\x82\xac'] = {} },
                  note = 'back\\slash/ "quoted"\ttab' }
    local text = store.encode(doc)
    assert.same(doc, cjson.decode(text))
    local a, b, upper = text:find('"a"', 1, true), text:find('"b"', 1, true), text:find('"B"', 1, true)
    assert.is_true(upper < a and a < b)
    assert.truthy(text:find('"back\\\\slash/ \\"quoted\\"\\ttab"', 1, true))  -- "/" unescaped, "\\" kept
  end)

  it("raises for a key that is not a string, for what cjson refuses, and for nesting past 32", function()
    assert.has_error(function() store.encode{ servers = { [1] = {} } } end, "layout: a key is a number")
    assert.has_error(function() store.encode{ servers = {}, bad = print } end)
    local shape, deep = {}, {}
    shape.x, deep.x = shape, deep
    assert.has_error(function() core.layout(deep, shape, {}, cjson.encode) end, "layout: nested deeper than 32")
  end)
end)
