-- animo.error: the shape and printed form of error objects (API.md §3).
local helper = require "spec.support.helper"
local errors = require "animo.error"
local animo = require "animo"

describe("animo.error", function()
  it("prints one line with kind, message and request", function()
    local e = errors.new("validation", "url must be an https URL",
                         { method = "PATCH", path = "/api/v1/c9Xk2/webhooks/update" })
    assert.equal("animo: validation: url must be an https URL (PATCH /api/v1/c9Xk2/webhooks/update)",
                 tostring(e))
  end)

  it("leaves the request out when there was none", function()
    assert.equal("animo: store: cannot read x", tostring(errors.new("store", "cannot read x")))
  end)

  it("folds newlines and long server text into one bounded line", function()
    local e = errors.new("server", "<html>\n<body>\r\n" .. ("x"):rep(1000) .. "</body></html>")
    assert.is_nil(tostring(e):find("[\r\n]"))
    assert.is_true(#e.message < 400)
    assert.equal("<html> <body> xxx", e.message:sub(1, 17))
  end)

  it("is retryable = false unless said otherwise", function()
    assert.is_false(errors.new("network", "x").retryable)
    assert.is_true(errors.new("network", "x", { retryable = true }).retryable)
  end)

  it("refuses an unknown kind (a bug in animo, not a runtime failure)", function()
    assert.has_error(function() errors.new("oops", "x") end)
  end)

  it("groups validation problems by field and counts the rest", function()
    local e = errors.validation({ { "name", "name is required" }, { "events", "a" }, { "events", "b" } })
    assert.equal("validation", e.kind)
    assert.same({ name = { "name is required" }, events = { "a", "b" } }, e.fields)
    assert.equal("name is required (and 2 more)", e.message)
  end)

  it("works with Lua's assert(), which raises the object itself", function()
    local lua_assert = _G.assert  -- busted's `assert` is luassert, which copies
    local ok, raised = pcall(function() lua_assert(nil, errors.new("auth", "Unauthenticated.")) end)
    assert.is_false(ok)
    assert.is_true(animo.is_error(raised))
    assert.equal("animo: auth: Unauthenticated.", tostring(raised))
  end)

  it("is recognised by animo.is_error and nothing else is", function()
    assert.is_true(animo.is_error(errors.new("tls", "x")))
    assert.is_false(animo.is_error({ kind = "tls", message = "x" }))
    assert.is_false(animo.is_error("animo: tls: x"))
  end)
  assert(helper)
end)
