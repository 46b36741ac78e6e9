--- animo.webhook — webhook records as the user sees them: plain tables
-- { id, name, url, events, created_at, token } whose printed form never
-- shows the token.
-- @module animo.webhook
local M = {}

local Webhook = { __name = "animo.webhook" }

function Webhook:__tostring()
  return ("animo.webhook %q (%s)"):format(tostring(self.name), tostring(self.id or "no id"))
end

--- Copies the known fields of `t` into a new record; `token` only when it is
-- a string.
function M.new(t)
  local events = {}
  for i, e in ipairs(t.events or {}) do events[i] = e end
  return setmetatable({
    id = t.id, name = t.name, url = t.url, events = events,
    created_at = t.created_at, token = t.token,
  }, Webhook)
end

--- Makes `t` itself a record: for a table just built, with every field
-- of its own.
function M.adopt(t)
  return setmetatable(t, Webhook)
end

function M.is(v)
  return getmetatable(v) == Webhook
end

return M
