--- spec/support/helper.lua — what the specs share: module paths pointing at
-- the build, the local Animo emulator (a real HTTPS server started per spec
-- file), its admin API, and running the animo binary as a real process.
local M = {}

-- Absolute, since specs run commands from other directories.
M.root = os.getenv("ANIMO_ROOT") or io.popen("pwd"):read("l")
M.build = os.getenv("ANIMO_BUILD") or (M.root .. "/build")
M.bin = os.getenv("ANIMO_BIN") or (M.build .. "/animo")

package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s"):format(M.root, M.root, package.path)
package.cpath = ("%s/lib/?.so;%s"):format(M.build, package.cpath)

local core = require "animo.core"
local cjson = require "cjson"

--- Single-quotes s for /bin/sh.
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- base64url without padding, for making JWT-shaped tokens.
function M.base64url(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for k = 1, 2 + (b and 1 or 0) + (c and 1 or 0) do
      local v = (n >> (18 - 6 * (k - 1))) & 63
      out[#out + 1] = alphabet:sub(v + 1, v + 1)
    end
  end
  return table.concat(out)
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

--- A fresh empty directory.
function M.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -m 700 " .. M.shell_quote(p)))
  return p
end

function M.rmtree(path)
  os.execute("rm -rf " .. M.shell_quote(path))
end

local function own_pid()
  local stat = assert(M.read_file("/proc/self/stat"))
  return stat:match("^(%d+)")
end

--- Waits up to `limit` seconds for fn() to return a true value.
function M.wait_for(fn, limit)
  local stop = core.now() + limit
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.02)
  until core.now() > stop
  return nil
end

local Emulator = {}
Emulator.__index = Emulator

--- Starts an emulator (extra command-line flags in `args`) and waits until
-- it listens. It exits by itself if this process dies.
function M.start_emulator(args)
  local dir = M.tmpdir()
  local cmd = ("python3 %s/spec/emulator/animo_emulator.py --dir %s --parent-pid %s %s > %s/log 2>&1 &")
    :format(M.shell_quote(M.root), M.shell_quote(dir), own_pid(), args or "", M.shell_quote(dir))
  assert(os.execute(cmd))
  local ready = M.wait_for(function()
    local s = M.read_file(dir .. "/ready.json")
    return s and cjson.decode(s)
  end, 20)
  if not ready then
    error("emulator did not start:\n" .. (M.read_file(dir .. "/log") or ""))
  end
  local emu = setmetatable(ready, Emulator)
  emu.dir = dir
  emu.store_path = dir .. "/store/store.json"
  emu.http = core.http()
  return emu
end

--- Calls the admin API: returns the decoded JSON answer.
function Emulator:call(method, path, body)
  local res, kind, msg = self.http:request{
    method = method, url = self.admin .. path, ca_file = self.ca_file,
    headers = { "Content-Type: application/json", "Accept: application/json" },
    body = body ~= nil and cjson.encode(body) or nil,
  }
  assert(res, ("admin %s %s: %s %s"):format(method, path, tostring(kind), tostring(msg)))
  assert(res.status == 200, ("admin %s %s: HTTP %d %s"):format(method, path, res.status, res.body))
  return cjson.decode(res.body)
end

--- Resets all state; returns the fixtures (tokens and companies).
function Emulator:reset()
  os.remove(self.store_path)
  os.remove(self.store_path .. ".lock")  -- and its notes
  self.fixtures = self:call("POST", "/reset", {})
  return self.fixtures
end

function Emulator:fault(f) return self:call("POST", "/faults", f) end
function Emulator:settings(s) return self:call("POST", "/settings", s) end
function Emulator:log() return self:call("GET", "/log") end
function Emulator:state() return self:call("GET", "/state") end

--- How many API requests for `route` ("attach", …) the emulator received.
function Emulator:requests(route)
  local n = 0
  for _, r in ipairs(self:log()) do
    if r.route == route then n = n + 1 end
  end
  return n
end

--- The webhooks the emulator holds, by name.
function Emulator:webhooks()
  local by_name = {}
  for _, wh in ipairs(self:state().webhooks) do by_name[wh.name] = wh end
  return by_name
end

--- Client options for this emulator, the pro company, the `full` token and
-- a store emptied by each reset, overridden by `extra`.
function Emulator:options(extra)
  local o = { base_url = self.base_url, ca_file = self.ca_file,
              company = self.fixtures.companies.pro, token = self.fixtures.tokens.full,
              timeout = 5, deadline = 10, store = self.store_path }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

function Emulator:stop()
  self.http:close()
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  M.wait_for(function() return not M.read_file("/proc/" .. self.pid .. "/stat") end, 10)
  M.rmtree(self.dir)
end

--- Runs the animo binary with `args` (a list), environment `env` (a table;
-- ANIMO_* variables of this process are cleared first, and HOME is a fresh
-- folder so no default store is shared) and optional stdin text. Returns
-- exit code, stdout, stderr.
function M.run(args, env, stdin)
  local dir = M.tmpdir()
  local parts = { "env" }
  for _, v in ipairs{ "ANIMO_BASE_URL", "ANIMO_COMPANY", "ANIMO_TOKEN", "ANIMO_CA_FILE", "ANIMO_STORE", "XDG_DATA_HOME" } do
    parts[#parts + 1] = "-u " .. v
  end
  parts[#parts + 1] = "HOME=" .. M.shell_quote(dir)
  for k, v in pairs(env or {}) do parts[#parts + 1] = M.shell_quote(k .. "=" .. v) end
  parts[#parts + 1] = M.shell_quote(M.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = M.shell_quote(a) end
  if stdin then
    M.write_file(dir .. "/in", stdin)
    parts[#parts + 1] = "< " .. M.shell_quote(dir .. "/in")
  else
    parts[#parts + 1] = "< /dev/null"
  end
  parts[#parts + 1] = ("> %s/out 2> %s/err"):format(M.shell_quote(dir), M.shell_quote(dir))
  local _, _, code = os.execute(table.concat(parts, " "))
  local out, err = M.read_file(dir .. "/out"), M.read_file(dir .. "/err")
  M.rmtree(dir)
  return code, out, err
end

return M
