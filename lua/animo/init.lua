--- animo — manage Animo webhooks from Lua.
--
--   local animo = require "animo"
--   local client = animo.client{ company = "c9Xk2" }   -- token from ANIMO_TOKEN
--   local wh = assert(client:attach{ name = "CRM sync",
--     url = "https://crm.example.com/animo", events = { "lead-created" } })
--
-- See API.md for the contract. This module is the public API; animo.core
-- (C) and the other animo.* modules are internal.
-- @module animo
local core = require "animo.core"
local check = require "animo.check"
local client = require "animo.client"
local errors = require "animo.error"
local sync = require "animo.sync"
local task = require "animo.task"

local M = {}

M.VERSION = core.VERSION
M.libcurl_version = core.curl_version  -- libcurl and its TLS library, for diagnosis

--- The eight event values in the order of the Animo docs (animo.events[1]
-- …[8]) and, by name, the scope each needs (animo.events["lead-created"]
-- == "leads:subscribe"). A copy: changing it changes nothing inside animo.
M.events = {}
for i, e in ipairs(check.EVENTS) do
  M.events[i] = e[1]
  M.events[e[1]] = e[2]
end

--- animo.client(opts) -> client. See animo.client.
function M.client(opts)
  return client.new(opts)
end

--- True when v is an animo error object.
M.is_error = errors.is

--- Non-blocking use (API.md §5): animo.spawn(fn, ...) -> task;
-- animo.poll([ms]) -> unfinished tasks, never waiting longer than ms;
-- animo.run() blocks until every task has finished.
M.spawn = task.spawn
M.poll = task.poll
M.run = task.run

--- animo.sync(client, spec, opts) -> plan, results | nil, err: makes the
-- webhooks in the store match spec.webhooks (see animo.sync). Call it
-- outside tasks; it runs its changes as tasks itself.
M.sync = sync.sync

return M
