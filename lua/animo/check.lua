--- animo.check — the checks made before any request is sent, so a bad
-- call costs no round trip. Each check returns nil or a list of problems
-- ({ field, message }); animo.error turns them into a validation error.
local cjson = require("cjson").new()

local M = {}

--- The eight event values, in the order of the Animo docs, with the scope
-- a token needs to subscribe to each.
M.EVENTS = {
  { "activation-submitted", "activations:subscribe" },
  { "form-submitted", "submissions:subscribe" },
  { "lead-created", "leads:subscribe" },
  { "lead-updated", "leads:subscribe" },
  { "lead-deleted", "leads:subscribe" },
  { "meeting-booked", "meetings:subscribe" },
  { "meeting-updated", "meetings:subscribe" },
  { "meeting-cancelled", "meetings:subscribe" },
}

local SCOPE, BIT = {}, {}  -- BIT: one bit per event, to spot repeats
for i, e in ipairs(M.EVENTS) do SCOPE[e[1]], BIT[e[1]] = e[2], 1 << (i - 1) end
M.SCOPE = SCOPE

local MAX_LEN = 255

--- Adds the problem { field, message } to `problems` (made when nil) and
-- returns it: checks make no table when all is well.
local function add(problems, field, message)
  problems = problems or {}
  problems[#problems + 1] = { field, message }
  return problems
end

local function check_name(name, problems)
  if name == nil then return add(problems, "name", "name is required") end
  if type(name) ~= "string" then return add(problems, "name", "name must be a string") end
  local n = utf8.len(name)
  if not n or name:find("\0", 1, true) then return add(problems, "name", "name must be valid UTF-8 text") end
  if not name:find("%S") then return add(problems, "name", "name must not be empty") end
  if n > MAX_LEN then return add(problems, "name", "name must be at most 255 characters") end
  return problems
end

-- https://, a host, and no space or control character anywhere.
local URL = "^https://[^/?#\0-\32\127][^\0-\32\127]*$"

local function check_url(url, problems)
  if url == nil then return add(problems, "url", "url is required") end
  if type(url) ~= "string" then return add(problems, "url", "url must be a string") end
  local n = utf8.len(url)
  if not n or not url:find(URL) then return add(problems, "url", "url must be an https URL") end
  if n > MAX_LEN then return add(problems, "url", "url must be at most 255 characters") end
  return problems
end

--- True when t is a non-empty sequence 1..n with nothing else in it.
local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

local function check_events(events, problems)
  if events == nil then return add(problems, "events", "events is required") end
  if type(events) ~= "table" or not is_array(events) then
    return add(problems, "events", "events must be a non-empty list of event names")
  end
  local seen = 0
  for i = 1, #events do
    local e = events[i]
    local bit = BIT[e]
    if not bit then
      problems = add(problems, "events", ("events[%d] is not a known event (%s)"):format(i,
        type(e) == "string" and ("%q"):format(e):sub(1, 60) or type(e)))
    elseif seen & bit ~= 0 then
      problems = add(problems, "events", ("events[%d] repeats %s"):format(i, e))
    end
    seen = seen | (bit or 0)
  end
  return problems
end

local FIELDS = { name = true, url = true, events = true }

--- Checks a whole webhook spec (attach): name, url and events.
function M.webhook(spec)
  return check_events(spec.events, check_url(spec.url, check_name(spec.name)))
end

--- Checks the changes of an update: only name, url, events; at least one.
function M.changes(changes)
  local problems
  for k in pairs(changes) do
    if not FIELDS[k] then
      problems = add(problems, tostring(k), ("unknown field %q (use name, url or events)"):format(tostring(k)))
    end
  end
  local name, url, events = changes.name, changes.url, changes.events
  if name ~= nil then problems = check_name(name, problems) end
  if url ~= nil then problems = check_url(url, problems) end
  if events ~= nil then problems = check_events(events, problems) end
  if name == nil and url == nil and events == nil and not problems then
    problems = add(problems, "changes", "update needs at least one of name, url or events")
  end
  return problems
end

local function b64url_decode(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local bits, nbits, out = 0, 0, {}
  for i = 1, #s do
    local v = alphabet:find(s:sub(i, i), 1, true)
    if not v then return nil end
    bits = (bits << 6) | (v - 1)
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char((bits >> nbits) & 0xff)
    end
  end
  return table.concat(out)
end

--- The claims of a JWT access token's payload, or nil for an opaque token
-- (or any token whose payload cannot be read).
function M.token_claims(token)
  local payload = token:match("^[%w_-]+%.([%w_-]+)%.[%w_-]*$")
  if not payload then return nil end
  local ok, claims = pcall(cjson.decode, b64url_decode(payload) or "")
  if not ok or type(claims) ~= "table" then return nil end
  return claims
end

--- The scopes a JWT access token's payload lists, as a set, or nil for an
-- opaque token (or any token whose payload cannot be read).
function M.token_scopes(token)
  local claims = M.token_claims(token)
  if not claims or type(claims.scopes) ~= "table" then return nil end
  local set = {}
  for _, s in ipairs(claims.scopes) do
    if type(s) == "string" then set[s] = true end
  end
  return set
end

--- Checks that a token with `scopes` (from token_scopes) may subscribe to
-- `events` (a checked list, or nil when no events are being set).
function M.scopes(scopes, events)
  if scopes == nil or scopes["*"] then return nil end
  local problems = {}
  local any = false
  for s in pairs(scopes) do
    if s:find(":subscribe$") then any = true end
  end
  if not any then
    problems[1] = { "token", "the access token has no subscribe scope" }
  end
  local reported = {}
  for _, e in ipairs(events or {}) do
    local need = SCOPE[e]
    if not scopes[need] and not reported[need] then
      reported[need] = true
      problems[#problems + 1] = { "events",
        ("event %s needs the scope %s, which the access token lacks"):format(e, need) }
    end
  end
  return problems[1] and problems or nil
end

local MAX_TOKEN = 16384  -- Passport tokens are about 1 KB; far more is a mistake

--- A header-safe secret: printable ASCII without spaces, of sane length.
function M.token(token)
  return type(token) == "string" and #token <= MAX_TOKEN and token:find("^[\33-\126]+$") ~= nil
end

function M.is_uuid(s)
  return type(s) == "string"
     and s:find("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

return M
