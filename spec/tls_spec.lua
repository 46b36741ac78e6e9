-- TLS is verified, always: servers with a certificate from another CA, for
-- another host, expired, or no TLS at all are refused with a `tls` (or
-- `network`) error naming the CA in use, and nothing can turn it off.
local helper = require "spec.support.helper"
local animo = require "animo"

local SPEC = { name = "hook", url = "https://h.example/", events = { "lead-created" } }

-- Starts an emulator serving `args`; runs fn(emu, options); stops it. Its
-- admin API cannot be reached with verification on either, so the client
-- gets made-up credentials: the handshake fails before they are sent.
local function with_server(args, fn)
  local emu = helper.start_emulator(args)
  local opts = { base_url = emu.base_url:gsub("^http:", "https:"), ca_file = emu.ca_file, company = "c9Xk2",
                 token = "t0ken-123456", store = emu.store_path, retries = 2, timeout = 5 }
  local ok, err = pcall(fn, emu, opts)
  emu:stop()
  if not ok then error(err, 0) end
end

local CASES = {
  { "a certificate from another CA", "--tls-cert wrong_ca", "tls", "unable to get local issuer certificate" },
  { "a certificate for another host", "--tls-cert wrong_host", "tls", "subject name" },
  { "an expired certificate", "--tls-cert expired", "tls", "expired" },
}

describe("TLS verification", function()
  for _, case in ipairs(CASES) do
    local title, args, kind, detail = table.unpack(case)
    it("refuses " .. title .. ", naming the CA in use", function()
      with_server(args, function(emu, opts)
        local c = animo.client(opts)
        local wh, err = c:attach(SPEC)
        assert.is_nil(wh)
        assert.equal(kind, err.kind)
        assert.matches(detail, err.message, 1, true)
        assert.matches("(CA: " .. emu.ca_file .. ")", err.message, 1, true)
        assert.is_false(err.retryable)
        assert.is_nil(err.message:find("may have been created", 1, true))  -- nothing was sent
        assert.same({}, c:webhooks())    -- so no intent stays in the store
      end)
    end)
  end

  it("refuses a plain-HTTP server on the HTTPS port", function()
    with_server("--plain", function(_, opts)
      local _, err = animo.client(opts):attach(SPEC)
      assert.is_true(err.kind == "tls" or err.kind == "network", err.kind)
      assert.is_false(err.retryable)
    end)
  end)

  it("uses the system store when no CA is given, and says so", function()
    local emu = helper.start_emulator()
    emu:reset()
    local opts = emu:options{ retries = 0 }
    opts.ca_file = nil
    local _, err = animo.client(opts):attach(SPEC)
    emu:stop()
    assert.equal("tls", err.kind)
    assert.matches("(CA: the system store)", err.message, 1, true)
  end)

  it("reports a CA file that cannot be read", function()
    local emu = helper.start_emulator()
    emu:reset()
    local _, err = animo.client(emu:options{ ca_file = "/nonexistent/ca.pem" }):attach(SPEC)
    emu:stop()
    assert.equal("tls", err.kind)
    assert.matches("(CA: /nonexistent/ca.pem)", err.message, 1, true)
  end)

  it("has no option that disables verification", function()
    for _, option in ipairs{ "insecure", "verify", "ssl_verify", "verify_peer", "tls_verify", "cafile" } do
      assert.has_error(function() animo.client{ [option] = false } end,
                       ("animo.client: unknown option %q"):format(option))
    end
  end)

  it("prints one line and exits 1 from the command line", function()
    with_server("--tls-cert wrong_host", function(emu, _)
      local code, out, err = helper.run({ "attach", "--name", "x", "--url", "https://x.example/", "--events", "lead-created" },
        { ANIMO_BASE_URL = emu.base_url, ANIMO_CA_FILE = emu.ca_file, ANIMO_COMPANY = "c9Xk2",
          ANIMO_TOKEN = "t0ken-123456", ANIMO_STORE = emu.store_path })
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^animo: tls: [^\n]*%(CA: [^\n]*%) %(POST /api/v1/c9Xk2/webhooks/attach%)\n$", err)
    end)
  end)
end)
