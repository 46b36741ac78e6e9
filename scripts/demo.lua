-- demo.lua — attach, update and detach one webhook, and show how a rejected
-- request looks. Settings come from ANIMO_BASE_URL, ANIMO_COMPANY,
-- ANIMO_TOKEN and ANIMO_CA_FILE (scripts/demo.sh points them at the local
-- emulator).
local animo = require "animo"

local client = animo.client()
print(("animo %s, %s"):format(animo.VERSION, tostring(client)))

local wh = assert(client:attach{
  name = "CRM sync",
  url = "https://crm.example.com/animo",
  events = { "lead-created", "lead-updated" },
})
print(("attached  %-10s id=%s events=%s"):format(wh.name, wh.id, table.concat(wh.events, ",")))

wh = assert(client:update(wh, { url = "https://crm.example.com/v2/animo", events = { "lead-created" } }))
print(("updated   %-10s url=%s events=%s"):format(wh.name, wh.url, table.concat(wh.events, ",")))

-- Names are unique: a second attach under the same name is refused by the
-- server (422), and the error says why in one line.
local _, err = client:attach{ name = "CRM sync", url = "https://other.example.com/hook",
                              events = { "lead-deleted" } }
print(("rejected  %s"):format(tostring(err)))

-- A bad call is caught before any request is sent.
_, err = client:attach{ name = "Leads", url = "http://insecure.example.com/", events = { "lead-created" } }
print(("rejected  %s"):format(tostring(err)))

-- The token store knows the webhook by name, so no record is needed.
print(("stored    %d webhook(s) in %s"):format(#assert(client:webhooks()), client.store.path))
assert(client:detach("CRM sync"))
print(("detached  %-10s id=%s"):format(wh.name, wh.id))
