-- animo.client against the local Animo emulator over real, verified TLS:
-- the operations, every client-side check (no request sent), every error
-- kind a server can cause, and tolerant response parsing (API.md §2–3).
local helper = require "spec.support.helper"
local animo = require "animo"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local SPEC = { name = "CRM sync", url = "https://crm.example.com/animo",
               events = { "lead-created", "lead-updated" } }

local function client(extra)
  return animo.client(emu:options(extra))
end

local function api_requests()
  return #emu:log()
end

describe("client end to end", function()
  it("attaches, updates and detaches a webhook", function()
    local c = client()
    local wh, err = c:attach(SPEC)
    assert.is_nil(err)
    assert.is_true(require("animo.check").is_uuid(wh.id))
    assert.equal("CRM sync", wh.name)
    assert.equal("https://crm.example.com/animo", wh.url)
    assert.same({ "lead-created", "lead-updated" }, wh.events)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT.*%+00:00$", wh.created_at)
    local server = emu:webhooks()["CRM sync"]
    assert.equal(server.token, wh.token)
    assert.equal(server.id, wh.id)

    local updated
    updated, err = c:update(wh, { url = "https://crm.example.com/v2/animo" })
    assert.is_nil(err)
    assert.equal("https://crm.example.com/v2/animo", updated.url)
    assert.equal(wh.id, updated.id)
    assert.equal(wh.token, updated.token)
    assert.equal("https://crm.example.com/v2/animo", emu:webhooks()["CRM sync"].url)

    updated, err = c:update({ id = wh.id, token = wh.token }, { name = "CRM", events = { "lead-deleted" } })
    assert.is_nil(err)
    assert.equal("CRM", updated.name)
    assert.same({ "lead-deleted" }, updated.events)
    assert.is_not_nil(emu:webhooks()["CRM"])

    local ok
    ok, err = c:detach(updated)
    assert.is_nil(err)
    assert.is_true(ok)
    assert.is_nil(next(emu:webhooks()))
  end)

  it("sends exactly the documented requests", function()
    local c = client()
    local wh = assert(c:attach(SPEC))
    assert(c:update(wh, { events = { "lead-deleted" } }))
    assert(c:detach(wh))
    local log = emu:log()
    assert.equal(3, #log)
    local want = {
      { "POST", "/api/v1/c9Xk2/webhooks/attach", { name = SPEC.name, url = SPEC.url, events = SPEC.events } },
      { "PATCH", "/api/v1/c9Xk2/webhooks/update", { id = wh.id, token = wh.token, events = { "lead-deleted" } } },
      { "DELETE", "/api/v1/c9Xk2/webhooks/detach", { id = wh.id, token = wh.token } },
    }
    for i, w in ipairs(want) do
      local r = log[i]
      assert.equal(w[1], r.method)
      assert.equal(w[2], r.path)
      assert.same(w[3], r.json)
      assert.equal("Bearer " .. emu.fixtures.tokens.full, r.headers["authorization"])
      assert.equal("application/json", r.headers["accept"])
      assert.equal("application/json", r.headers["content-type"])
      assert.equal("animo/" .. animo.VERSION, r.headers["user-agent"])
      assert.is_nil(r.headers["expect"])
    end
  end)

  it("accepts an opaque access token and a wildcard-scope JWT", function()
    for _, which in ipairs{ "opaque", "star" } do
      emu:reset()
      local wh, err = client{ token = emu.fixtures.tokens[which] }:attach(SPEC)
      assert.is_nil(err)
      assert.is_string(wh.token)
    end
  end)

  it("reads settings from the environment when options are absent", function()
    local code, out, err = helper.run({ "-e", [[
      local c = require("animo").client()
      local wh = assert(c:attach{ name = "from env", url = "https://e.example/", events = { "lead-created" } })
      print(wh.name)
    ]] }, { ANIMO_BASE_URL = emu.base_url, ANIMO_COMPANY = emu.fixtures.companies.pro,
            ANIMO_TOKEN = emu.fixtures.tokens.full, ANIMO_CA_FILE = emu.ca_file })
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("from env\n", out)
  end)

  it("defaults base_url to Animo's own API", function()
    local code, out = helper.run{ "-e", "print(require('animo').client().base_url)" }
    assert.equal(0, code)
    assert.equal("https://app.animo.co/api/v1\n", out)
  end)

  it("leaves the scope check to the server for an opaque token", function()
    local opaque = emu:call("POST", "/tokens", { scopes = { "leads:subscribe" }, format = "opaque", user = "u1" }).token
    local wh, err = client{ token = opaque }:attach{ name = "m", url = SPEC.url, events = { "meeting-booked" } }
    assert.is_nil(wh)
    assert.equal("forbidden", err.kind)
    assert.equal(403, err.status)
    assert.equal("Invalid scope(s) provided.", err.message)
    assert.equal(1, api_requests())
  end)

  it("lets options win over the environment", function()
    local code, out = helper.run({ "-e", [[
      local c = require("animo").client{ company = "fr33C", base_url = "https://example.invalid/api/v1/" }
      print(c.company, c.base_url)
    ]] }, { ANIMO_COMPANY = "c9Xk2", ANIMO_BASE_URL = "https://other.invalid" })
    assert.equal(0, code)
    assert.equal("fr33C\thttps://example.invalid/api/v1\n", out)
  end)
end)

describe("client-side checks (no request is sent)", function()
  local function assert_validation(wh, err, field, message)
    assert.is_nil(wh)
    assert.equal("validation", err.kind)
    assert.is_nil(err.status)
    if field then assert.is_table(err.fields[field]) end
    if message then assert.equal(message, err.message) end
    assert.equal(0, api_requests())
  end

  it("checks name, url and events before attaching", function()
    local c = client()
    local wh, err = c:attach{ url = SPEC.url, events = SPEC.events }
    assert_validation(wh, err, "name", "name is required")
    assert.equal("POST", err.method)
    assert.equal("/api/v1/c9Xk2/webhooks/attach", err.path)
    assert_validation(c:attach{ name = ("n"):rep(256), url = SPEC.url, events = SPEC.events })
    wh, err = c:attach{ name = "n", url = "http://crm.example.com/", events = SPEC.events }
    assert_validation(wh, err, "url", "url must be an https URL")
    assert.equal("animo: validation: url must be an https URL (POST /api/v1/c9Xk2/webhooks/attach)", tostring(err))
    assert_validation(c:attach{ name = "n", url = "https://h/" .. ("a"):rep(250), events = SPEC.events })
    assert_validation(c:attach{ name = "n", url = SPEC.url, events = {} })
    assert_validation(c:attach{ name = "n", url = SPEC.url, events = { "lead-created", "lead-created" } })
    assert_validation(c:attach{ name = "n", url = SPEC.url, events = { "nope" } })
    wh, err = c:attach{}
    assert_validation(wh, err, "events", "name is required (and 2 more)")
  end)

  it("checks the JWT's scopes and names the missing one", function()
    local c = client{ token = emu.fixtures.tokens.leads }
    local wh, err = c:attach{ name = "n", url = SPEC.url, events = { "lead-created", "meeting-booked" } }
    assert_validation(wh, err, "events",
      "event meeting-booked needs the scope meetings:subscribe, which the access token lacks")
    assert(c:attach{ name = "n", url = SPEC.url, events = { "lead-created" } })
    local ok
    ok, err = client{ token = emu.fixtures.tokens.nosub }:detach{ id = "550e8400-e29b-41d4-a716-446655440000", token = "abcdefgh" }
    assert.is_nil(ok)
    assert.equal("the access token has no subscribe scope", err.message)
  end)

  it("needs a change, known fields and a resolvable webhook for update and detach", function()
    local c = client()
    local rec = { id = "550e8400-e29b-41d4-a716-446655440000", token = "abcdefgh" }
    assert_validation(c:update(rec, {}))
    local wh, err = c:update(rec, { URL = "https://x.example/" })
    assert_validation(wh, err, "URL")
    assert_validation(c:update(rec, { url = "ftp://x" }))
    wh, err = client{ token = emu.fixtures.tokens.leads }:update(rec, { events = { "meeting-booked" } })
    assert_validation(wh, err, "events")
    wh, err = c:update({ id = rec.id }, { url = "https://x.example/" })
    assert_validation(wh, err, "webhook")
    assert.equal("PATCH", err.method)
    wh, err = c:detach("CRM sync")
    assert_validation(wh, err, "webhook")
    assert.equal("DELETE", err.method)
  end)

  it("returns a usage error naming the option and variable for a missing company or token", function()
    local code, out = helper.run{ "-e", [[
      local animo = require "animo"
      local c = animo.client{ token = "abcdefgh1234" }
      local _, err = c:attach{ name = "n", url = "https://x.example/", events = { "lead-created" } }
      print(err.kind, err.message)
      c = animo.client{ company = "c9Xk2" }
      _, err = c:detach{ id = "x", token = "y" }
      print(err.kind, err.message)
    ]] }
    assert.equal(0, code)
    assert.equal("usage\tno company: set the company option or ANIMO_COMPANY\n" ..
                 "usage\tno access token: set the token option or ANIMO_TOKEN, or run animo login\n", out)
  end)

  it("refuses an http:// base URL before any request", function()
    local c = client{ base_url = emu.base_url:gsub("^https", "http") }
    local wh, err = c:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("usage", err.kind)
    assert.matches("https", err.message)
    assert.equal(0, api_requests())
  end)

  it("refuses an access token that could inject headers", function()
    local _, err = client{ token = "abc\r\nX-Evil: 1" }:attach(SPEC)
    assert.equal("usage", err.kind)
    assert.is_nil(err.message:find("X-Evil", 1, true))
    assert.equal(0, api_requests())
  end)

  it("raises for programmer misuse", function()
    local c = client()
    assert.has_error(function() animo.client{ colour = "blue" } end, 'animo.client: unknown option "colour"')
    assert.has_error(function() animo.client{ timeout = "10" } end, "animo.client: option timeout must be a number")
    assert.has_error(function() animo.client{ retries = 1.5 } end, "animo.client: option retries must be a whole number")
    assert.has_error(function() animo.client{ timeout = 0 } end, "animo.client: option timeout out of range")
    assert.has_error(function() animo.client("x") end)
    assert.has_error(function() c:attach("x") end)
    assert.has_error(function() c:update(42, {}) end)
    assert.has_error(function() c:update("x", "y") end)
    assert.has_error(function() c:detach(nil) end)
  end)
end)

describe("server errors", function()
  local function fault_then(route, fault, op)
    fault.route = route
    emu:fault(fault)
    return op()
  end

  it("maps 401 to auth, with the server's message", function()
    local wh, err = client{ token = "not-a-real-token-123" }:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    assert.equal("Unauthenticated.", err.message)
    assert.is_false(err.retryable)
  end)

  it("maps 403 for scope, plan and company to forbidden", function()
    local _, err = client{ token = emu.fixtures.tokens.opaque, retries = 0 }
      :attach{ name = "n", url = SPEC.url, events = { "lead-created" } }
    assert.is_nil(err)  -- opaque token with the scope: fine
    _, err = client{ token = emu.fixtures.tokens.nosub }:attach(SPEC)
    assert.equal("validation", err.kind)  -- caught client-side: JWT lists its scopes
    _, err = client{ company = emu.fixtures.companies.free }:attach(SPEC)
    assert.equal("forbidden", err.kind)
    assert.equal(403, err.status)
    assert.equal("Your plan does not include integrations.", err.message)
    _, err = client{ company = emu.fixtures.companies.foreign }:attach(SPEC)
    assert.equal("forbidden", err.kind)
    assert.equal("This action is unauthorized.", err.message)
  end)

  it("maps 404 to not_found", function()
    local _, err = client{ company = "n0pe1" }:attach(SPEC)
    assert.equal("not_found", err.kind)
    assert.equal(404, err.status)
    assert.equal("/api/v1/n0pe1/webhooks/attach", err.path)
  end)

  it("maps 422 to validation with the server's message and fields", function()
    assert(client():attach(SPEC))
    local _, err = client():attach(SPEC)
    assert.equal("validation", err.kind)
    assert.equal(422, err.status)
    assert.equal("The name has already been taken.", err.message)
    assert.same({ name = { "The name has already been taken." } }, err.fields)
    assert.equal("animo: validation: The name has already been taken. (POST /api/v1/c9Xk2/webhooks/attach)", tostring(err))
  end)

  it("folds indexed 422 fields (events.0) into their field", function()
    local _, err = fault_then("attach", { status = 422, headers = { ["Content-Type"] = "application/json" },
      body = '{"message":"The selected events.0 is invalid. (and 1 more error)",' ..
             '"errors":{"events.0":["The selected events.0 is invalid."],"url":["bad url"]}}' },
      function() return client():attach(SPEC) end)
    assert.equal("The selected events.0 is invalid. (and 1 more error)", err.message)
    assert.same({ "The selected events.0 is invalid." }, err.fields.events)
    assert.same({ "bad url" }, err.fields.url)
  end)

  it("maps a wrong webhook token to validation", function()
    local wh = assert(client():attach(SPEC))
    local _, err = client():update({ id = wh.id, token = "wrong-token-123" }, { url = "https://x.example/" })
    assert.equal("validation", err.kind)
    assert.same({ "The selected token is invalid." }, err.fields.token)
  end)

  it("maps 429 to rate_limited with retry_after", function()
    local _, err = fault_then("attach", { status = 429, headers = { ["Retry-After"] = "7", ["Content-Type"] = "application/json" },
      body = '{"message":"Too Many Attempts."}' }, function() return client{ retries = 0 }:attach(SPEC) end)
    assert.equal("rate_limited", err.kind)
    assert.equal(429, err.status)
    assert.equal(7, err.retry_after)
    assert.is_true(err.retryable)
    assert.equal("Too Many Attempts.", err.message)
  end)

  it("maps 5xx with an HTML page to server, without the page", function()
    local _, err = fault_then("update", { status = 502, headers = { ["Content-Type"] = "text/html" },
      body = "<html><body><h1>502 Bad Gateway</h1></body></html>" },
      function()
        return client{ retries = 0 }:update({ id = "550e8400-e29b-41d4-a716-446655440000", token = "abcdefgh" },
                                            { name = "x" })
      end)
    assert.equal("server", err.kind)
    assert.equal(502, err.status)
    assert.equal("server error (HTTP 502)", err.message)
    assert.is_true(err.retryable)
    assert.equal("PATCH", err.method)
  end)

  it("maps an unexpected redirect to protocol", function()
    local _, err = fault_then("attach", { status = 302, headers = { Location = "https://elsewhere.example/" }, body = "" },
      function() return client():attach(SPEC) end)
    assert.equal("protocol", err.kind)
    assert.equal(302, err.status)
    assert.matches("redirect", err.message)
  end)

  it("never shows a token echoed in a server message", function()
    local token = emu.fixtures.tokens.full
    local _, err = fault_then("attach", { status = 400, headers = { ["Content-Type"] = "application/json" },
      body = '{"message":"bad token ' .. token .. '"}' }, function() return client():attach(SPEC) end)
    assert.equal("protocol", err.kind)
    assert.is_nil(tostring(err):find(token, 1, true))
    assert.equal("bad token [redacted]", err.message)
  end)
end)

describe("tolerant response parsing", function()
  local rec
  before_each(function() rec = assert(client():attach(SPEC)) end)

  it("accepts a bare webhook object (no data wrapper) and any 2xx", function()
    emu:fault{ route = "update", status = 202, headers = { ["Content-Type"] = "application/json" },
               body = '{"id":"' .. rec.id .. '","name":"CRM sync","url":"https://new.example/","events":["lead-created"],"extra":1}' }
    local wh, err = client():update(rec, { url = "https://new.example/" })
    assert.is_nil(err)
    assert.equal("https://new.example/", wh.url)
    assert.equal(rec.token, wh.token)
  end)

  it("keeps a rotated token from an update response", function()
    emu:settings{ update_token = "rotate" }
    local wh = assert(client():update(rec, { name = "renamed" }))
    assert.are_not.equal(rec.token, wh.token)
    assert.equal(emu:webhooks()["renamed"].token, wh.token)
  end)

  it("fills an update result from the request when the response omits fields", function()
    emu:settings{ update_token = "omit" }
    emu:fault{ route = "update", process = true, status = 200, body = "" }
    local wh = assert(client():update(rec, { url = "https://v3.example/" }))
    assert.equal("https://v3.example/", wh.url)
    assert.equal(rec.name, wh.name)
    assert.equal(rec.token, wh.token)
    assert.equal(rec.created_at, wh.created_at)
  end)

  it("accepts an empty 204 and a 200 JSON message from detach", function()
    emu:settings{ detach_status = 204 }
    assert.is_true(client():detach(rec))
    emu:settings{ detach_status = 200 }
    local other = assert(client():attach{ name = "other", url = SPEC.url, events = SPEC.events })
    assert.is_true(client():detach(other))
  end)

  it("reports invalid JSON with status 200 as protocol, naming the possible webhook on attach", function()
    emu:fault{ route = "attach", action = "invalid_json" }
    local wh, err = client():attach{ name = "maybe", url = SPEC.url, events = SPEC.events }
    assert.is_nil(wh)
    assert.equal("protocol", err.kind)
    assert.matches('"maybe" may have been created', err.message)
    assert.is_false(err.retryable)
  end)

  it("reports a 2xx without id or token as protocol", function()
    emu:fault{ route = "attach", status = 201, headers = { ["Content-Type"] = "application/json" },
               body = '{"data":{"name":"x"}}' }
    local _, err = client():attach{ name = "x", url = SPEC.url, events = SPEC.events }
    assert.equal("protocol", err.kind)
    assert.matches("no webhook id and token", err.message)
  end)

  it("reports an HTML 200 on update as protocol", function()
    emu:fault{ route = "update", status = 200, headers = { ["Content-Type"] = "text/html" }, body = "<html>ok</html>" }
    local _, err = client():update(rec, { name = "y" })
    assert.equal("protocol", err.kind)
  end)

  it("refuses a body over 1 MiB", function()
    emu:fault{ route = "update", action = "oversize" }
    local _, err = client{ retries = 0 }:update(rec, { name = "big" })
    assert.equal("protocol", err.kind)
    assert.matches("larger than 1 MiB", err.message)
  end)
end)

describe("printed forms", function()
  it("never show a token", function()
    local c = client()
    local wh = assert(c:attach(SPEC))
    for _, s in ipairs{ tostring(wh), tostring(c) } do
      assert.is_nil(s:find(wh.token, 1, true))
      assert.is_nil(s:find(emu.fixtures.tokens.full, 1, true))
    end
    assert.matches('^animo.webhook "CRM sync" %(' .. wh.id:gsub("%-", "%%-") .. "%)$", tostring(wh))
    assert.matches("^animo.client %(https://127.0.0.1:%d+/api/v1, company c9Xk2%)$", tostring(c))
    local function dump(t)
      local parts = {}
      for k, v in pairs(t) do parts[#parts + 1] = tostring(k) .. "=" .. tostring(v) end
      return table.concat(parts, " ")
    end
    assert.is_nil(dump(c):find(emu.fixtures.tokens.full, 1, true))
    assert.equal(emu:webhooks()["CRM sync"].token, wh.token)  -- the real value stays reachable
  end)
end)
