-- animo.check and animo.retry: the client-side checks and the retry policy,
-- table-driven, without any network.
local helper = require "spec.support.helper"
local check = require "animo.check"
local retry = require "animo.retry"
local animo = require "animo"

local function jwt(payload)
  local b64url = helper.base64url
  return b64url('{"typ":"JWT","alg":"RS256"}') .. "." .. b64url(payload) .. "." .. b64url("sig-bytes")
end

local GOOD = { name = "CRM sync", url = "https://crm.example.com/animo", events = { "lead-created" } }

local function with(overrides)
  local t = { name = GOOD.name, url = GOOD.url, events = GOOD.events }
  for k, v in pairs(overrides) do t[k] = v end
  return t
end

describe("animo.events", function()
  it("lists the eight events in the docs' order with their scopes", function()
    local names = {}
    for i, e in ipairs(animo.events) do names[i] = e end
    assert.same({ "activation-submitted", "form-submitted", "lead-created", "lead-updated",
                  "lead-deleted", "meeting-booked", "meeting-updated", "meeting-cancelled" }, names)
    assert.equal("leads:subscribe", animo.events["lead-created"])
    assert.equal("activations:subscribe", animo.events["activation-submitted"])
    assert.equal("submissions:subscribe", animo.events["form-submitted"])
    assert.equal("meetings:subscribe", animo.events["meeting-cancelled"])
  end)

  it("is a copy: changing it does not change what animo accepts", function()
    animo.events["lead-created"] = nil
    assert.is_nil(check.webhook(GOOD))
    animo.events["lead-created"] = "leads:subscribe"
  end)
end)

describe("check.webhook", function()
  it("accepts a good spec", function()
    assert.is_nil(check.webhook(GOOD))
    assert.is_nil(check.webhook(with{ name = ("é"):rep(255) }))  -- characters, not bytes
    assert.is_nil(check.webhook(with{ url = "https://h/" .. ("a"):rep(245) }))
    assert.is_nil(check.webhook(with{ events = { "lead-created", "meeting-booked", "form-submitted" } }))
  end)

  local cases = {
    { "missing name", { name = false }, "name", "name is required" },
    { "name not a string", { name = 42 }, "name", "name must be a string" },
    { "empty name", { name = "" }, "name", "name must not be empty" },
    { "blank name", { name = "   " }, "name", "name must not be empty" },
    { "name of 256 characters", { name = ("a"):rep(256) }, "name", "name must be at most 255 characters" },
    { "name with invalid UTF-8", { name = "a\xff" }, "name", "name must be valid UTF-8 text" },
    { "name with a NUL", { name = "a\0b" }, "name", "name must be valid UTF-8 text" },
    { "missing url", { url = false }, "url", "url is required" },
    { "url not a string", { url = {} }, "url", "url must be a string" },
    { "http url", { url = "http://crm.example.com/x" }, "url", "url must be an https URL" },
    { "url without host", { url = "https:///x" }, "url", "url must be an https URL" },
    { "url with a space", { url = "https://a.example/x y" }, "url", "url must be an https URL" },
    { "url with upper-case scheme", { url = "HTTPS://a.example/" }, "url", "url must be an https URL" },
    { "url of 256 characters", { url = "https://h/" .. ("a"):rep(246) }, "url", "url must be at most 255 characters" },
    { "missing events", { events = false }, "events", "events is required" },
    { "events not a table", { events = "lead-created" }, "events", "events must be a non-empty list of event names" },
    { "empty events", { events = {} }, "events", "events must be a non-empty list of event names" },
    { "events with holes", { events = { "lead-created", nil, "lead-updated" } }, "events",
      "events must be a non-empty list of event names" },
    { "events as a map", { events = { x = "lead-created" } }, "events", "events must be a non-empty list of event names" },
    { "unknown event", { events = { "lead-exploded" } }, "events", 'events[1] is not a known event ("lead-exploded")' },
    { "event not a string", { events = { 7 } }, "events", "events[1] is not a known event (number)" },
    { "duplicate event", { events = { "lead-created", "lead-created" } }, "events", "events[2] repeats lead-created" },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. c[1], function()
      local spec = with(c[2])
      for k, v in pairs(c[2]) do if v == false then spec[k] = nil end end
      local problems = check.webhook(spec)
      assert.is_table(problems)
      assert.same({ c[3], c[4] }, problems[1])
    end)
  end

  it("reports every problem at once", function()
    local problems = check.webhook{}
    assert.equal(3, #problems)
  end)
end)

describe("check.changes", function()
  it("needs at least one change", function()
    assert.same({ { "changes", "update needs at least one of name, url or events" } }, check.changes{})
  end)
  it("checks only what is given", function()
    assert.is_nil(check.changes{ url = "https://new.example/" })
    assert.is_nil(check.changes{ name = "n", events = { "lead-deleted" } })
    assert.same({ "url", "url must be an https URL" }, check.changes{ url = "ftp://x" }[1])
  end)
  it("rejects unknown fields (a typo must not be ignored)", function()
    assert.same({ "URL", 'unknown field "URL" (use name, url or events)' }, check.changes{ URL = "https://x/" }[1])
  end)
end)

describe("check.token_scopes", function()
  it("reads the scopes of a JWT access token", function()
    local set = check.token_scopes(jwt('{"sub":"1","scopes":["leads:subscribe","companies:read"]}'))
    assert.same({ ["leads:subscribe"] = true, ["companies:read"] = true }, set)
  end)
  it("treats opaque tokens and unreadable payloads as unknown", function()
    assert.is_nil(check.token_scopes("0123456789abcdef0123456789abcdef"))
    assert.is_nil(check.token_scopes("a.b.c"))                                -- payload not JSON
    assert.is_nil(check.token_scopes(jwt('{"sub":"1"}')))                   -- no scopes claim
    assert.is_nil(check.token_scopes(jwt('{"scopes":"leads:subscribe"}'))) -- not a list
    assert.is_nil(check.token_scopes(jwt('[1,2]')))
  end)
end)

describe("check.scopes", function()
  local leads = { ["leads:subscribe"] = true }
  it("passes when every event's scope is granted", function()
    assert.is_nil(check.scopes(leads, { "lead-created", "lead-deleted" }))
    assert.is_nil(check.scopes({ ["*"] = true }, { "meeting-booked" }))
    assert.is_nil(check.scopes(nil, { "meeting-booked" }))  -- opaque: the server decides
  end)
  it("names the missing scope once", function()
    local p = check.scopes(leads, { "meeting-booked", "meeting-updated", "lead-created" })
    assert.equal(1, #p)
    assert.equal("event meeting-booked needs the scope meetings:subscribe, which the access token lacks", p[1][2])
  end)
  it("needs some subscribe scope even without events (detach)", function()
    assert.same({ { "token", "the access token has no subscribe scope" } }, check.scopes({ ["companies:read"] = true }, nil))
    assert.is_nil(check.scopes(leads, nil))
  end)
end)

describe("check.token and check.is_uuid", function()
  it("accepts header-safe tokens only", function()
    assert.is_true(check.token("abc.DEF-123_~"))
    assert.is_false(check.token("abc def"))
    assert.is_false(check.token("abc\r\nX-Evil: 1"))
    assert.is_false(check.token(""))
    assert.is_false(check.token(nil))
  end)
  it("recognises UUIDs", function()
    assert.is_true(check.is_uuid("550e8400-e29b-41d4-a716-446655440000"))
    assert.is_false(check.is_uuid("CRM sync"))
    assert.is_false(check.is_uuid("550e8400e29b41d4a716446655440000"))
  end)
end)

describe("animo.retry", function()
  local function e(kind, status) return { kind = kind, status = status } end
  local cases = {
    -- error, idempotent (update/detach), sent, retry?
    { e("network"), false, false, true, "attach: connect failure" },
    { e("timeout"), false, false, true, "attach: connect timeout" },
    { e("timeout"), false, true, false, "attach: timeout after sending" },
    { e("network"), false, true, false, "attach: reset after sending" },
    { e("rate_limited", 429), false, true, true, "attach: 429" },
    { e("server", 503), false, true, true, "attach: 503" },
    { e("server", 500), false, true, false, "attach: 500" },
    { e("server", 502), false, true, false, "attach: 502" },
    { e("server", 504), false, true, false, "attach: 504" },
    { e("timeout"), true, true, true, "update: timeout after sending" },
    { e("server", 500), true, true, true, "update: 500" },
    { e("server", 502), true, true, true, "update: 502" },
    { e("server", 504), true, true, true, "update: 504" },
    { e("server", 501), true, true, false, "update: 501" },
    { e("validation", 422), true, true, false, "update: 422" },
    { e("auth", 401), true, true, false, "update: 401" },
    { e("tls"), true, false, false, "update: TLS failure" },
    { e("protocol", 200), true, true, false, "update: bad response" },
  }
  for _, c in ipairs(cases) do
    it(("%s retry for %s"):format(c[4] and "does" or "does not", c[5]), function()
      assert.equal(c[4], retry.retryable(c[1], c[2], c[3]))
    end)
  end

  it("backs off exponentially with full jitter, capped", function()
    assert.equal(0.25, retry.backoff(1, nil, function() return 1 end))
    assert.equal(1, retry.backoff(3, nil, function() return 1 end))
    assert.equal(8, retry.backoff(20, nil, function() return 1 end))
    assert.equal(0, retry.backoff(5, nil, function() return 0 end))
  end)

  it("waits at least what Retry-After asks", function()
    assert.equal(3, retry.backoff(1, 3, function() return 1 end))
  end)

  it("parses Retry-After as seconds or an HTTP date, capped", function()
    assert.equal(7, retry.parse_retry_after("7"))
    assert.equal(120, retry.parse_retry_after("86400"))
    local now = 1445412480  -- Wed, 21 Oct 2015 07:28:00 GMT
    assert.equal(0, retry.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now))
    assert.equal(30, retry.parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now))
    assert.equal(0, retry.parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now))
    assert.equal(5, retry.parse_retry_after("Sat, 29 Feb 2020 00:00:05 GMT", 1582934400))
    assert.is_nil(retry.parse_retry_after("soon"))
    assert.is_nil(retry.parse_retry_after(nil))
  end)
  assert(helper)
end)
