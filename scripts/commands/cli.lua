-- animo.cli — the `animo COMMAND …` front end of the bundled interpreter.
-- Each command lives in scripts/commands/NAME.lua and uses only the public
-- `animo` module; this file parses flags, makes the client and reports.
-- Exit status: 0 success, 1 an API, network or store error, 2 a usage error.
local animo = require "animo"
local cjson = require("cjson").new()

local M = {}

M.NAMES = { "attach", "update", "detach", "list", "login", "sync", "doctor", "help" }

-- Flags every command takes: the client's settings.
local SETTINGS = { company = "company", ["base-url"] = "base_url", ["ca-file"] = "ca_file", store = "store" }
M.SETTINGS_HELP = "Settings: --company SQID, --base-url URL, --ca-file PEM, --store PATH\n" ..
                  "(else ANIMO_COMPANY, ANIMO_BASE_URL, ANIMO_CA_FILE, ANIMO_STORE; the access\n" ..
                  "token comes from ANIMO_TOKEN or `animo login`)."

function M.is_command(name)
  for _, n in ipairs(M.NAMES) do
    if n == name then return true end
  end
  return false
end

function M.load(name)
  return require("animo.commands." .. name)
end

--- A usage error: printed like any error, exit status 2.
local function usage_error(message)
  return setmetatable({ kind = "usage", message = message },
                      { __tostring = function(e) return "animo: usage: " .. e.message end })
end
M.usage_error = usage_error

--- Parses args against `flags` (name -> "value" | "list" | "bool").
-- Returns options, positional arguments; or nil, usage error.
function M.parse(args, flags)
  local opts, positional = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    if a == "--" then
      table.move(args, i + 1, #args, #positional + 1, positional)
      break
    elseif name then
      local kind = flags[name] or (SETTINGS[name] and "value")
      if not kind then return nil, usage_error(("unknown flag --%s"):format(name)) end
      if opts[name] ~= nil then return nil, usage_error(("--%s given twice"):format(name)) end
      if kind == "bool" then
        if value then return nil, usage_error(("--%s takes no value"):format(name)) end
        opts[name] = true
      else
        if not value then
          i = i + 1
          value = args[i]
          if value == nil then return nil, usage_error(("--%s needs a value"):format(name)) end
        end
        if kind == "list" then
          local list = {}
          for item in (value .. ","):gmatch("([^,]*),") do
            item = item:match("^%s*(.-)%s*$")
            if item ~= "" then list[#list + 1] = item end
          end
          value = list
        end
        opts[name] = value
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, usage_error(("unknown flag %s"):format(a))
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return opts, positional
end

--- The client for these options (settings flags win over the environment).
function M.client(opts)
  local o = {}
  for flag, option in pairs(SETTINGS) do o[option] = opts[flag] end
  return animo.client(o)
end

--- Exit status for an error: 2 for usage and client-side checks, else 1.
function M.status(err)
  if err.kind == "usage" or (err.kind == "validation" and err.status == nil) then return 2 end
  return 1
end

--- Reports err on stderr; returns its exit status.
function M.fail(err)
  io.stderr:write(tostring(err), "\n")
  return M.status(err)
end

-- Tables to print as JSON arrays even when empty (cjson would write {}).
local arrays = setmetatable({}, { __mode = "k" })

--- Marks t as a JSON array; returns it.
function M.array(t)
  arrays[t] = true
  return t
end

local function encode(v)
  if type(v) ~= "table" then return cjson.encode(v) end
  local parts = {}
  if arrays[v] or v[1] ~= nil then
    for i, item in ipairs(v) do parts[i] = encode(item) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do parts[i] = cjson.encode(k) .. ":" .. encode(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

--- One JSON document on stdout, keys sorted, "/" left unescaped (cjson
-- never writes a bare "/", so each "\/" is an escaped slash).
function M.print_json(value)
  io.stdout:write((encode(value):gsub("\\/", "/")), "\n")
end

--- A webhook as printed: its fields, never its token unless `with_token`.
function M.webhook_table(wh, with_token)
  local t = { id = wh.id, name = wh.name, url = wh.url, events = wh.events,
              created_at = wh.created_at, status = wh.status, note = wh.note }
  if with_token then t.token = wh.token end
  if t.events and not t.events[1] then t.events = nil end
  return t
end

--- Prints rows (lists of strings) as columns separated by two spaces.
function M.print_table(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell)
    end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      local pad = i < #row and (" "):rep(widths[i] - (utf8.len(cell) or #cell)) or ""
      cells[i] = cell .. pad
    end
    io.stdout:write(table.concat(cells, "  "), "\n")
  end
end

--- animo COMMAND args… -> exit status.
function M.main(name, args)
  local cmd = M.load(name)
  local opts, positional = M.parse(args, cmd.flags)
  if not opts then
    io.stderr:write(tostring(positional), "\n", "usage: ", cmd.usage, "\n")
    return 2
  end
  local ok, status = pcall(cmd.run, M, opts, positional)
  if not ok then  -- a bug in animo, not the user's doing: say so plainly
    io.stderr:write("animo: internal error: ", tostring(status), "\n")
    return 1
  end
  return status
end

return M
