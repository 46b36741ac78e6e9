--- animo.error — the error objects every animo operation returns.
-- An error is a plain table (kind, status, message, fields, retry_after,
-- retryable, method, path) sharing one metatable whose __tostring gives one
-- line: "animo: KIND: MESSAGE (METHOD PATH)".
-- @module animo.error
local M = {}

local Error = { __name = "animo.error" }
Error.__index = Error

function Error:__tostring()
  local s = "animo: " .. self.kind .. ": " .. self.message
  if self.method and self.path then
    s = s .. " (" .. self.method .. " " .. self.path .. ")"
  end
  return s
end

M.KINDS = {
  validation = true, auth = true, forbidden = true, not_found = true,
  rate_limited = true, server = true, timeout = true, network = true,
  tls = true, protocol = true, store = true, usage = true,
}

local MAX_MESSAGE = 300

--- Folds any text into one bounded line (server messages may hold newlines
-- or whole HTML pages).
local function one_line(s)
  s = tostring(s):gsub("[%c]+", " "):gsub("^%s+", ""):gsub("%s+$", "")
  if #s > MAX_MESSAGE then s = s:sub(1, MAX_MESSAGE) .. "…" end
  return s
end

--- Makes an error. `t` holds the fields of the table above; kind and
-- message are required.
function M.new(kind, message, t)
  assert(M.KINDS[kind], "unknown error kind")
  local e = t or {}
  e.kind, e.message = kind, one_line(message)
  e.retryable = e.retryable or false
  return setmetatable(e, Error)
end

--- A validation error whose `fields` map each field to its messages.
-- `problems` is a list of { field, message } in the order found; the
-- message is the first problem's unless `message` is given.
function M.validation(problems, t, message)
  local fields = {}
  for _, p in ipairs(problems) do
    local list = fields[p[1]] or {}
    list[#list + 1] = p[2]
    fields[p[1]] = list
  end
  if not message then
    message = problems[1][2]
    if #problems > 1 then
      message = ("%s (and %d more)"):format(message, #problems - 1)
    end
  end
  t = t or {}
  t.fields = fields
  return M.new("validation", message, t)
end

function M.is(v)
  return getmetatable(v) == Error
end

return M
