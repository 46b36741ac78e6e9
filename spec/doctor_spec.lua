-- `animo doctor`: all ok against a sound setup; against a wrong CA, a bad or
-- expired token, a foreign company or a proxy it points at the problem —
-- and it never prints the token.
local helper = require "spec.support.helper"
local cjson = require "cjson"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local function env(extra)
  local e = { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_STORE = emu.store_path,
              ANIMO_COMPANY = emu.fixtures.companies.pro, ANIMO_TOKEN = emu.fixtures.tokens.full }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- Runs `animo doctor --json`; returns exit code, checks by name, raw output.
local function doctor(extra)
  local code, out, err = helper.run({ "doctor", "--json" }, env(extra))
  assert.equal("", err)
  local report = cjson.decode(out)
  local by_name = {}
  for _, c in ipairs(report.checks) do by_name[c.name] = c end
  assert.equal(code == 0, report.ok)
  for _, t in pairs(emu.fixtures.tokens) do assert.is_nil(out:find(t, 1, true)) end
  return code, by_name, out
end

local function jwt(payload)
  local b64 = helper.base64url
  return b64('{"alg":"RS256"}') .. "." .. b64(payload) .. "." .. b64("signature")
end

describe("animo doctor", function()
  it("says all is well against a sound setup, in both forms", function()
    local code, checks = doctor()
    assert.equal(0, code)
    for _, name in ipairs{ "versions", "ca", "proxy", "store", "token", "api", "company" } do
      assert.equal("ok", checks[name].status, name .. ": " .. checks[name].detail)
    end
    assert.matches("leads:subscribe", checks.token.detail)
    assert.matches("user u1", checks.api.detail)
    local human_code, out = helper.run({ "doctor" }, env())
    assert.equal(0, human_code)
    assert.matches("^ok    versions  animo ", out)
    assert.is_nil(out:find("\nfail"))
  end)

  it("points at a CA that does not verify the server", function()
    local code, checks = doctor{ ANIMO_CA_FILE = emu.certs.other_ca }
    assert.equal(1, code)
    assert.equal("fail", checks.api.status)
    assert.matches("^animo: tls: ", checks.api.detail)
    assert.matches("ca%-file", checks.api.fix)
  end)

  it("points at a token the server refuses", function()
    local code, checks = doctor{ ANIMO_TOKEN = "not-a-token-123456" }
    assert.equal(1, code)
    assert.equal("ok", checks.token.status)   -- opaque: only the server can tell
    assert.equal("fail", checks.api.status)
    assert.matches("^animo: auth: ", checks.api.detail)
    assert.matches("animo login", checks.api.fix)
  end)

  it("points at an expired token before asking the server", function()
    local code, checks = doctor{ ANIMO_TOKEN = jwt('{"sub":"u1","exp":1000000000,"scopes":["leads:subscribe"]}') }
    assert.equal(1, code)
    assert.equal("fail", checks.token.status)
    assert.matches("expires 2001%-09%-09", checks.token.detail)
    assert.matches("expired", checks.token.fix)
  end)

  it("points at a company the token cannot see", function()
    local code, checks = doctor{ ANIMO_COMPANY = emu.fixtures.companies.foreign }
    assert.equal(1, code)
    assert.equal("fail", checks.company.status)
    assert.matches(emu.fixtures.companies.pro, checks.company.detail, 1, true)
  end)

  it("warns of a proxy that applies, and not of one NO_PROXY excludes", function()
    local _, checks = doctor{ https_proxy = "http://proxy.invalid:3128" }
    assert.equal("warn", checks.proxy.status)
    _, checks = doctor{ https_proxy = "http://proxy.invalid:3128", NO_PROXY = "localhost,127.0.0.1" }
    assert.equal("ok", checks.proxy.status)
  end)

  it("fails without a token, saying how to set one", function()
    local code, checks = doctor{ ANIMO_TOKEN = "" }
    assert.equal(1, code)
    assert.equal("fail", checks.token.status)
    assert.matches("animo login", checks.token.fix)
  end)
end)
