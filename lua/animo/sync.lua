--- animo.sync — make the webhooks of a company match a declaration.
--
--   local plan, results = animo.sync(client, { webhooks = { {name=, url=, events={…}}, … } },
--                                    { prune = false, dry_run = false })
--
-- The token store is the record of what exists. The plan lists, in order,
-- { action = "attach" | "update" | "detach" | "unchanged", name =, spec =,
-- changes = { field = { from, to } } (update), webhook = stored record }.
-- Unless dry_run, the changes run concurrently as tasks (bounded by the
-- client's max_concurrency); results[i] = { action, name, ok, webhook | err }
-- for each change, a failure never stopping the others. opts.on_plan(plan)
-- is called before anything is applied, opts.progress(done, total, result)
-- as each change ends. Returns plan,
-- results; or nil, err (validation: every problem of the spec at once).
-- @module animo.sync
local check = require "animo.check"
local errors = require "animo.error"
local task = require "animo.task"

local M = {}

local function sorted_copy(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end

local function same_events(a, b)
  a, b = sorted_copy(a or {}), sorted_copy(b or {})
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

--- Checks a whole sync spec: returns the list of its webhooks, or nil,
-- problems ({ field, message } naming the entry).
function M.check(spec)
  if type(spec) ~= "table" or type(spec.webhooks) ~= "table" then
    return nil, { { "webhooks", "the spec must be a table { webhooks = { … } }" } }
  end
  local problems, seen, list = {}, {}, {}
  local n = 0
  for _ in pairs(spec.webhooks) do n = n + 1 end
  if n ~= #spec.webhooks then
    problems[#problems + 1] = { "webhooks", "webhooks must be a list (1, 2, 3, … with no gaps)" }
  end
  for i, wh in ipairs(spec.webhooks) do
    local where = ("webhooks[%d]"):format(i)
    if type(wh) ~= "table" then
      problems[#problems + 1] = { where, where .. " must be a table { name =, url =, events = }" }
    else
      if type(wh.name) == "string" then where = ("%s (%q)"):format(where, wh.name) end
      for k in pairs(wh) do
        if k ~= "name" and k ~= "url" and k ~= "events" then
          problems[#problems + 1] = { where, ("%s: unknown field %q"):format(where, tostring(k)) }
        end
      end
      for _, p in ipairs(check.webhook(wh) or {}) do
        problems[#problems + 1] = { where, ("%s: %s"):format(where, p[2]) }
      end
      if type(wh.name) == "string" then
        if seen[wh.name] then
          problems[#problems + 1] = { where, ("%s: the name is also used by webhooks[%d]"):format(where, seen[wh.name]) }
        end
        seen[wh.name] = seen[wh.name] or i
      end
      list[#list + 1] = wh
    end
  end
  if problems[1] then return nil, problems end
  return list
end

--- The plan for `list` (checked) against the stored records `stored`
-- (client:webhooks()).
function M.plan(list, stored, prune)
  local by_name = {}
  for _, rec in ipairs(stored) do
    if rec.status == "attached" then by_name[rec.name] = rec end
  end
  local plan, wanted = {}, {}
  for _, wh in ipairs(list) do
    wanted[wh.name] = true
    local rec = by_name[wh.name]
    if not rec then
      plan[#plan + 1] = { action = "attach", name = wh.name, spec = wh }
    else
      local changes = {}
      if rec.url ~= wh.url then changes.url = { rec.url, wh.url } end
      if not same_events(rec.events, wh.events) then changes.events = { rec.events, wh.events } end
      local action = next(changes) and "update" or "unchanged"
      plan[#plan + 1] = { action = action, name = wh.name, spec = wh, changes = changes, webhook = rec }
    end
  end
  if prune then
    for _, rec in ipairs(stored) do
      if rec.status == "attached" and not wanted[rec.name] then
        plan[#plan + 1] = { action = "detach", name = rec.name, webhook = rec }
      end
    end
  end
  return plan
end

local function apply_one(client, step)
  if step.action == "attach" then
    return client:attach(step.spec)
  elseif step.action == "update" then
    local changes = {}
    for field in pairs(step.changes) do changes[field] = step.spec[field] end
    return client:update(step.webhook, changes)
  else
    return client:detach(step.webhook)
  end
end

--- Runs the plan's changes as tasks; returns their results in plan order.
-- `progress(done, total, result)`, if given, is called as each one ends.
function M.apply(client, plan, progress)
  local results, total, done = {}, 0, 0
  for _, step in ipairs(plan) do
    if step.action ~= "unchanged" then total = total + 1 end
  end
  for _, step in ipairs(plan) do
    if step.action ~= "unchanged" then
      local r = { action = step.action, name = step.name }
      results[#results + 1] = r
      task.spawn(function()
        local value, err = apply_one(client, step)
        r.ok = value ~= nil and err == nil
        r.webhook = type(value) == "table" and value or nil
        r.err = err
        done = done + 1
        if progress then progress(done, total, r) end
      end)
    end
  end
  task.run()
  return results
end

function M.sync(client, spec, opts)
  opts = opts or {}
  local list, problems = M.check(spec)
  if not list then return nil, errors.validation(problems) end
  local stored, err = client:webhooks()
  if not stored then return nil, err end
  local plan = M.plan(list, stored, opts.prune)
  if opts.on_plan then opts.on_plan(plan) end
  if opts.dry_run then return plan, {} end
  return plan, M.apply(client, plan, opts.progress)
end

return M
