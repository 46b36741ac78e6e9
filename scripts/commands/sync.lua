-- animo sync — make Animo match a file of webhooks.
local animo = require "animo"

local SYMBOL = { attach = "+", update = "~", detach = "-" }

-- Loads FILE: Lua returning { webhooks = { … } }, with a small environment.
local function load_spec(path)
  local env = { os = { getenv = os.getenv }, string = string, table = table, ipairs = ipairs,
                pairs = pairs, tostring = tostring, tonumber = tonumber }
  local chunk, err = loadfile(path, "t", env)
  if not chunk then return nil, err end
  local ok, spec = pcall(chunk)
  if not ok then return nil, tostring(spec) end
  return spec
end

local function describe_change(step)
  local parts = {}
  for _, field in ipairs{ "url", "events" } do
    local c = step.changes and step.changes[field]
    if c then
      local from, to = c[1], c[2]
      if field == "events" then from, to = table.concat(from or {}, ","), table.concat(to, ",") end
      parts[#parts + 1] = ("%s: %s -> %s"):format(field, tostring(from), to)
    end
  end
  return table.concat(parts, "; ")
end

local function print_plan(plan)
  local unchanged = 0
  for _, step in ipairs(plan) do
    if step.action == "unchanged" then
      unchanged = unchanged + 1
    else
      print(("%s %-7s %s%s"):format(SYMBOL[step.action], step.action, step.name,
        step.action == "update" and "  (" .. describe_change(step) .. ")" or ""))
    end
  end
  print(("= %d unchanged"):format(unchanged))
end

-- One line rewritten in place: [done/total] action name.
local function show_progress(done, total, r)
  io.stdout:write(("\r\27[K[%d/%d] %s %s"):format(done, total, r.action, r.name))
  if done == total then io.stdout:write("\r\27[K") end
  io.stdout:flush()
end

return {
  summary = "make the webhooks in Animo match FILE",
  usage = "animo sync FILE [--dry-run] [--prune] [--json]",
  flags = { ["dry-run"] = "bool", prune = "bool", json = "bool" },
  help = "FILE is Lua returning { webhooks = { { name =, url =, events = { … } }, … } }.\n" ..
         "The store is the record of what exists: sync prints a plan (+ attach, ~ update,\n" ..
         "- detach with --prune for stored webhooks not in FILE, = unchanged) and applies\n" ..
         "it unless --dry-run. A second run changes nothing.",
  example = "animo sync webhooks.lua --dry-run",

  run = function(cli, opts, args)
    if #args ~= 1 then return cli.fail(cli.usage_error("sync needs exactly one FILE")) end
    local spec, load_err = load_spec(args[1])
    if not spec then return cli.fail(cli.usage_error(("cannot load %s: %s"):format(args[1], load_err))) end
    local client = cli.client(opts)
    local sync_opts = { prune = opts.prune, dry_run = opts["dry-run"] }
    if not opts.json then
      sync_opts.on_plan = print_plan
      -- Progress only for a person watching: stdout a terminal.
      if os.execute("test -t 1") then sync_opts.progress = show_progress end
    end
    local plan, results = animo.sync(client, spec, sync_opts)
    if not plan then
      local err = results
      if err.kind ~= "validation" then return cli.fail(err) end
      local lines = {}
      for _, msgs in pairs(err.fields) do
        for _, m in ipairs(msgs) do lines[#lines + 1] = ("%s: %s"):format(args[1], m) end
      end
      table.sort(lines)
      io.stderr:write(table.concat(lines, "\n"), "\n")
      return 2
    end

    if opts.json then
      local out_plan, out_results = {}, {}
      for i, step in ipairs(plan) do
        out_plan[i] = { action = step.action, name = step.name,
                        changes = step.changes and next(step.changes) and step.changes or nil }
      end
      for i, r in ipairs(results) do
        out_results[i] = { action = r.action, name = r.name, ok = r.ok,
                           id = r.webhook and r.webhook.id or nil, error = r.err and tostring(r.err) or nil }
      end
      cli.print_json{ plan = cli.array(out_plan), results = cli.array(out_results),
                      dry_run = opts["dry-run"] or false }
    elseif opts["dry-run"] then
      print("dry run: nothing applied")
    else
      for _, r in ipairs(results) do
        if r.ok then print(("ok     %s %s"):format(r.action, r.name)) end
      end
    end
    local failed = 0
    for _, r in ipairs(results) do
      if not r.ok then
        failed = failed + 1
        io.stderr:write(("failed %s %s: %s\n"):format(r.action, r.name, tostring(r.err)))
      end
    end
    return failed > 0 and 1 or 0
  end,
}
