-- animo.core's HTTPS handle (core/http.c through core/http_lua.c) against
-- the emulator: lifetime, misuse, keep-alive, verification and the
-- classification of transfer failures.
local helper = require "spec.support.helper"
local core = require "animo.core"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local function user_request(extra)
  local r = { method = "GET", url = emu.base_url .. "/user", ca_file = emu.ca_file,
              headers = { "Authorization: Bearer " .. emu.fixtures.tokens.full, "Accept: application/json" },
              timeout = 5 }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

describe("animo.http lifetime", function()
  it("prints its type and state, and closes idempotently", function()
    local h = core.http()
    assert.equal("animo.http (open)", tostring(h))
    h:close()
    assert.equal("animo.http (closed)", tostring(h))
    h:close()
    assert.has_error(function() h:request(user_request()) end, "attempt to use a closed animo.http")
  end)

  it("closes at the end of a <close> scope", function()
    local kept
    do
      local h <close> = core.http()
      kept = h
      assert.equal("animo.http (open)", tostring(kept))
    end
    assert.equal("animo.http (closed)", tostring(kept))
  end)

  it("is released by the garbage collector", function()
    for _ = 1, 200 do core.http() end
    collectgarbage()
    collectgarbage()
    assert.equal("animo.http (open)", tostring(core.http()))
  end)

  it("raises for misuse with the type's name", function()
    local h = core.http()
    assert.has_error(function() h.request({}, {}) end)
    assert.has_error(function() h:request("x") end)
    assert.has_error(function() h:request{ url = "https://x/" } end, "request field 'method' must be a string")
    assert.has_error(function() h:request(user_request{ timeout = -1 }) end, "request field 'timeout' out of range")
    assert.has_error(function() h:request(user_request{ headers = { 1 } }) end, "header 1 must be a string")
    assert.has_error(function() h:request(user_request{ headers = { "A: b\0c" } }) end, "header 1 contains a NUL byte")
    assert.has_error(function() h:request(user_request{ body = {} }) end, "request field 'body' must be a string")
    assert.has_error(function() h:request(user_request{ url = "https://h\0.example/" }) end,
                     "request field 'url' contains a NUL byte")
    local many = {}
    for i = 1, 17 do many[i] = "X-" .. i .. ": 1" end
    assert.has_error(function() h:request(user_request{ headers = many }) end, "at most 16 headers")
  end)
end)

describe("animo.http requests", function()
  it("returns status, body and headers, and keeps the connection alive", function()
    local h = core.http()
    local res = assert(h:request(user_request()))
    assert.equal(200, res.status)
    assert.matches('"id"', res.body)
    assert.equal("application/json", res.content_type)
    assert.is_true(res.sent)
    assert.is_false(res.reused)
    res = assert(h:request(user_request()))
    assert.is_true(res.reused)
  end)

  it("sends each request's own headers and CA on a reused handle", function()
    local h = core.http()
    local bad = { "Authorization: Bearer not-a-known-token", "Accept: application/json" }
    assert.equal(200, assert(h:request(user_request())).status)
    assert.equal(401, assert(h:request(user_request{ headers = bad })).status)
    assert.equal(200, assert(h:request(user_request())).status)
    local res, kind = h:request(user_request{ ca_file = emu.dir .. "/missing.pem" })
    assert.is_nil(res)
    assert.equal("tls", kind)
    assert.equal(200, assert(h:request(user_request())).status)
  end)

  it("returns Retry-After", function()
    emu:fault{ route = "user", status = 429, headers = { ["Retry-After"] = "12" }, body = "{}" }
    local res = assert(core.http():request(user_request()))
    assert.equal(429, res.status)
    assert.equal("12", res.retry_after)
  end)

  it("refuses header injection before sending", function()
    local res, kind, msg, sent = core.http():request(user_request{ headers = { "X-A: 1\r\nX-B: 2" } })
    assert.is_nil(res)
    assert.equal("bad_request", kind)
    assert.matches("CR or LF", msg)
    assert.is_false(sent)
    assert.equal(0, #emu:log())
  end)

  it("refuses plain http:// URLs", function()
    local res, kind = core.http():request(user_request{ url = emu.base_url:gsub("^https", "http") .. "/user" })
    assert.is_nil(res)
    assert.equal("network", kind)
    assert.equal(0, #emu:log())
  end)

  it("verifies the server: no CA given means the system store, which does not know the test CA", function()
    local req = user_request()
    req.ca_file = nil
    local res, kind, msg = core.http():request(req)
    assert.is_nil(res)
    assert.equal("tls", kind)
    assert.matches("certificate", msg)
    assert.equal(0, #emu:log())
  end)

  it("fails with tls for a CA file that does not exist", function()
    local res, kind = core.http():request(user_request{ ca_file = emu.dir .. "/missing.pem" })
    assert.is_nil(res)
    assert.equal("tls", kind)
  end)

  it("times out on a server that never answers, and says the request went out", function()
    emu:fault{ route = "user", action = "hang", max_ms = 5000 }
    local t0 = core.now()
    local res, kind, _, sent = core.http():request(user_request{ timeout = 0.5 })
    assert.is_nil(res)
    assert.equal("timeout", kind)
    assert.is_true(sent)
    assert.is_true(core.now() - t0 < 4)  -- a generous sanity bound
  end)

  it("fails with network on a connection reset", function()
    emu:fault{ route = "user", action = "reset_before" }
    local res, kind, _, sent = core.http():request(user_request())
    assert.is_nil(res)
    assert.equal("network", kind)
    assert.is_true(sent)
  end)

  it("fails with network when nothing listens", function()
    local res, kind, _, sent = core.http():request(user_request{ url = "https://127.0.0.1:1/api/v1/user" })
    assert.is_nil(res)
    assert.equal("network", kind)
    assert.is_false(sent)
  end)

  it("caps the body at 1 MiB", function()
    emu:fault{ route = "user", action = "oversize" }
    local res, kind, msg = core.http():request(user_request())
    assert.is_nil(res)
    assert.equal("too_large", kind)
    assert.equal("response body larger than 1 MiB", msg)
  end)

  it("stops a body that stalls", function()
    emu:fault{ route = "user", action = "stall", max_ms = 10000 }
    local res, kind = core.http():request(user_request{ stall = 1, timeout = 8 })
    assert.is_nil(res)
    assert.equal("timeout", kind)
  end)
end)

describe("animo.http proxy", function()
  -- A request from a fresh animo process with `env`: its status, or the
  -- kind of its failure.
  local function request_with(env)
    local r = user_request()
    local script = ("local r = %s; local res, kind = require('animo.core').http():request(r); "
                    .. "print(res and res.status or kind)")
      :format(("{ method = %q, url = %q, ca_file = %q, headers = { %q }, timeout = 5 }")
        :format(r.method, r.url, r.ca_file, r.headers[1]))
    local code, out = helper.run({ "-e", script }, env)
    assert.equal(0, code)
    return out
  end

  it("takes its proxy from the environment as libcurl would, once per handle, and honours no_proxy", function()
    assert.equal("200\n", request_with{})
    for _, name in ipairs{ "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" } do
      assert.equal("network\n", request_with{ [name] = "http://127.0.0.1:1" })  -- nobody listens there
    end
    assert.equal("200\n", request_with{ https_proxy = "http://127.0.0.1:1", no_proxy = "127.0.0.1" })
    assert.equal("200\n", request_with{ https_proxy = "http://127.0.0.1:1", NO_PROXY = "127.0.0.1" })
  end)
end)

describe("the core module", function()
  it("has a monotonic clock and a sleep", function()
    local t0 = core.now()
    core.sleep(0.05)
    local dt = core.now() - t0
    assert.is_true(dt >= 0.05 and dt < 2)
    assert.has_error(function() core.sleep(-1) end)
  end)

  it("names its version and libcurl's", function()
    assert.matches("^%d+%.%d+%.%d+$", core.VERSION)
    assert.matches("libcurl/", core.curl_version())
  end)
end)
