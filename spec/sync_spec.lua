-- animo.sync(client, spec, opts) from a script: the checks of a whole spec,
-- the plan against the store, and applying it concurrently.
local helper = require "spec.support.helper"
local animo = require "animo"

local emu
setup(function() emu = helper.start_emulator() end)
teardown(function() emu:stop() end)
before_each(function() emu:reset() end)

local function client(extra)
  return animo.client(emu:options(extra))
end

local function actions(plan)
  local out = {}
  for i, step in ipairs(plan) do out[i] = step.action .. " " .. step.name end
  return out
end

local A = { name = "A", url = "https://a.example/", events = { "lead-created" } }
local B = { name = "B", url = "https://b.example/", events = { "meeting-booked", "meeting-cancelled" } }

describe("animo.sync", function()
  it("attaches what is missing, then finds nothing to do", function()
    local c = client()
    local plan, results = assert(animo.sync(c, { webhooks = { A, B } }))
    assert.same({ "attach A", "attach B" }, actions(plan))
    assert.equal(2, #results)
    for _, r in ipairs(results) do
      assert.is_true(r.ok)
      assert.is_string(r.webhook.id)
    end
    local requests = #emu:log()
    plan, results = assert(animo.sync(c, { webhooks = { A, B } }))
    assert.same({ "unchanged A", "unchanged B" }, actions(plan))
    assert.same({}, results)
    assert.equal(requests, #emu:log())
  end)

  it("updates only the changed fields; event order does not count as a change", function()
    local c = client()
    assert(animo.sync(c, { webhooks = { A, B } }))
    local b2 = { name = "B", url = B.url, events = { "meeting-cancelled", "meeting-booked" } }
    local a2 = { name = "A", url = "https://a2.example/", events = A.events }
    local plan, results = assert(animo.sync(c, { webhooks = { a2, b2 } }))
    assert.same({ "update A", "unchanged B" }, actions(plan))
    assert.same({ url = { A.url, a2.url } }, plan[1].changes)
    assert.is_true(results[1].ok)
    assert.equal("https://a2.example/", emu:webhooks()["A"].url)
  end)

  it("detaches stored webhooks missing from the spec only with prune", function()
    local c = client()
    assert(animo.sync(c, { webhooks = { A, B } }))
    local plan = assert(animo.sync(c, { webhooks = { A } }))
    assert.same({ "unchanged A" }, actions(plan))
    plan = assert(animo.sync(c, { webhooks = { A } }, { prune = true }))
    assert.same({ "unchanged A", "detach B" }, actions(plan))
    assert.is_nil(emu:webhooks()["B"])
  end)

  it("plans without applying on dry_run", function()
    local plan, results = assert(animo.sync(client(), { webhooks = { A } }, { dry_run = true }))
    assert.same({ "attach A" }, actions(plan))
    assert.same({}, results)
    assert.equal(0, #emu:log())
  end)

  it("keeps going when one change fails", function()
    local c = client{ retries = 0 }
    assert(animo.sync(c, { webhooks = { A } }))
    emu:fault{ route = "update", status = 500, body = '{"message":"Server Error"}', times = 5 }
    local a2 = { name = "A", url = "https://a2.example/", events = A.events }
    local plan, results = assert(animo.sync(c, { webhooks = { a2, B } }))
    assert.same({ "update A", "attach B" }, actions(plan))
    assert.is_false(results[1].ok)
    assert.equal("server", results[1].err.kind)
    assert.is_true(results[2].ok)
    assert.is_not_nil(emu:webhooks()["B"])
  end)

  it("reports every problem of a bad spec at once, before any request", function()
    local _, err = animo.sync(client(), { webhooks = {
      { name = "A", url = "http://a.example/", events = { "lead-created" } },
      { name = "A", url = "https://a.example/", events = {} },
      { name = "C", url = "https://c.example/", events = { "lead-created" }, colour = "red" },
      "not a table",
    } })
    assert.equal("validation", err.kind)
    local lines = {}
    for _, msgs in pairs(err.fields) do
      for _, m in ipairs(msgs) do lines[#lines + 1] = m end
    end
    table.sort(lines)
    assert.same({
      'webhooks[1] ("A"): url must be an https URL',
      'webhooks[2] ("A"): events must be a non-empty list of event names',
      'webhooks[2] ("A"): the name is also used by webhooks[1]',
      'webhooks[3] ("C"): unknown field "colour"',
      "webhooks[4] must be a table { name =, url =, events = }",
    }, lines)
    assert.equal(0, #emu:log())
    _, err = animo.sync(client(), { hooks = {} })
    assert.equal("validation", err.kind)
  end)
end)
