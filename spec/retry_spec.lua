-- Retries and transfer failures through the client, against the emulator's
-- injected faults: what is retried, what is never resent, and that the
-- deadline bounds everything (API.md §3–4).
local helper = require "spec.support.helper"
local animo = require "animo"
local core = require "animo.core"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local SPEC = { name = "CRM sync", url = "https://crm.example.com/animo", events = { "lead-created" } }

local function client(extra)
  return animo.client(emu:options(extra))
end

local function requests(route) return emu:requests(route) end

local JSON = { ["Content-Type"] = "application/json" }

describe("retries", function()
  it("retries an attach after 503 and succeeds", function()
    emu:fault{ route = "attach", status = 503, headers = JSON, body = '{"message":"Service Unavailable"}' }
    local wh, err = client():attach(SPEC)
    assert.is_nil(err)
    assert.equal("CRM sync", wh.name)
    assert.equal(2, requests("attach"))
    assert.is_not_nil(emu:webhooks()["CRM sync"])
  end)

  it("honours Retry-After on 429", function()
    emu:fault{ route = "attach", status = 429, headers = { ["Retry-After"] = "1", ["Content-Type"] = "application/json" },
               body = '{"message":"Too Many Attempts."}' }
    local t0 = core.now()
    assert(client():attach(SPEC))
    assert.is_true(core.now() - t0 >= 1)
    assert.equal(2, requests("attach"))
  end)

  it("gives up after `retries` extra tries with the last error", function()
    emu:fault{ route = "attach", status = 503, headers = JSON, body = '{"message":"down"}', times = 5 }
    local wh, err = client{ retries = 2 }:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("server", err.kind)
    assert.equal(503, err.status)
    assert.is_true(err.retryable)
    assert.equal(3, requests("attach"))
  end)

  it("makes exactly one try with retries = 0", function()
    emu:fault{ route = "attach", status = 503, headers = JSON, body = '{"message":"down"}', times = 5 }
    local _, err = client{ retries = 0 }:attach(SPEC)
    assert.equal("server", err.kind)
    assert.equal(1, requests("attach"))
  end)

  it("stops when a wait would cross the deadline", function()
    emu:fault{ route = "attach", status = 429, headers = { ["Retry-After"] = "30", ["Content-Type"] = "application/json" },
               body = '{"message":"Too Many Attempts."}' }
    local t0 = core.now()
    local _, err = client{ deadline = 3 }:attach(SPEC)
    assert.is_true(core.now() - t0 < 2.5)
    assert.equal("rate_limited", err.kind)
    assert.equal(30, err.retry_after)
    assert.equal(1, requests("attach"))
  end)

  it("never resends an attach that timed out after sending, and says it may exist", function()
    emu:fault{ route = "attach", delay_ms = 1500 }
    local wh, err = client{ timeout = 0.5 }:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("timeout", err.kind)
    assert.is_false(err.retryable)
    assert.matches('the webhook "CRM sync" may have been created', err.message)
    assert.equal(1, requests("attach"))
  end)

  it("never resends an attach whose connection was reset after the request was read", function()
    local c = client()
    assert(c:attach{ name = "warm-up", url = SPEC.url, events = SPEC.events })  -- a kept-alive connection
    emu:fault{ route = "attach", action = "reset_after" }
    local wh, err = c:attach(SPEC)
    assert.is_nil(wh)
    assert.equal("network", err.kind)
    assert.matches('"CRM sync" may have been created', err.message)
    assert.equal(2, requests("attach"))
    assert.is_not_nil(emu:webhooks()["CRM sync"])
  end)

  it("does not resend an attach after a 500", function()
    emu:fault{ route = "attach", status = 500, headers = JSON, body = '{"message":"Server Error"}' }
    local _, err = client():attach(SPEC)
    assert.equal("server", err.kind)
    assert.is_false(err.retryable)
    assert.matches("may have been created", err.message)
    assert.equal(1, requests("attach"))
  end)

  it("retries update after 500, 502, 504 and a timeout", function()
    local wh = assert(client():attach(SPEC))
    emu:fault{ route = "update", status = 500, headers = JSON, body = '{"message":"Server Error"}' }
    emu:fault{ route = "update", status = 502, headers = { ["Content-Type"] = "text/html" }, body = "<html>bad gateway</html>" }
    emu:fault{ route = "update", status = 504, headers = JSON, body = '{"message":"Gateway Timeout"}' }
    emu:fault{ route = "update", delay_ms = 1500 }
    local updated, err = client{ retries = 4, timeout = 0.5 }:update(wh, { url = "https://v2.example/" })
    assert.is_nil(err)
    assert.equal("https://v2.example/", updated.url)
    assert.equal(5, requests("update"))
  end)

  it("retries detach after a reset connection", function()
    local wh = assert(client():attach(SPEC))
    emu:fault{ route = "detach", action = "reset_before" }
    assert.is_true(client():detach(wh))
    assert.equal(2, requests("detach"))
    assert.is_nil(next(emu:webhooks()))
  end)
end)

describe("transfer failures through the client", function()
  it("gives tls for an untrusted server, naming the CA in use, without retrying", function()
    local _, err = client{ ca_file = emu.certs.other_ca }:attach(SPEC)
    assert.equal("tls", err.kind)
    assert.is_nil(err.status)
    assert.is_false(err.retryable)
    assert.matches("CA: " .. emu.certs.other_ca:gsub("%p", "%%%0"), err.message)
    assert.equal("POST", err.method)
    assert.equal(0, requests("attach"))
  end)

  it("gives network when nothing listens", function()
    local _, err = client{ base_url = "https://127.0.0.1:1/api/v1", retries = 0 }:attach(SPEC)
    assert.equal("network", err.kind)
    assert.is_true(err.retryable)  -- nothing was sent: safe to try again
    assert.is_nil(err.message:find("may have been created", 1, true))
  end)
end)
