--- animo.store — the token store: the one place a webhook's token lives
-- after attach (Animo shows it once and cannot list webhooks).
--
-- One JSON document a person can read:
--   { "animo_store": 1, "notes_folded": "NAME:BYTES",
--     "servers": { BASE_URL: { "access_token": "…",
--       "companies": { COMPANY: {
--         "webhooks": { ID: { id, name, url, events, created_at, token } },
--         "pending":  { NAME: { name, url, events, started_at } } } } } } }
-- "pending" holds attach intents whose outcome is unknown (a timeout, a
-- killed process), so such a webhook is never forgotten. Before an attach
-- is sent its intent is noted: one JSON line in the store's lock file,
-- without fsync, which costs no disk flush and cannot harm the store (see
-- core/store.h). Reads see the notes as pending; the next change folds them
-- into the document, so the record written when the answer comes settles
-- the intent, and a failed attach makes its intent durable ("notes_folded"
-- says which notes the document holds already, so they can stay in the
-- lock file until they fill a block).
--
-- core.store (C) makes every change atomic, durable and serialised between
-- processes; this module decides paths and the document's shape.
-- @module animo.store
local core = require "animo.core"
local cjson = require("cjson").new()
local errors = require "animo.error"

local M = {}

local FORMAT = 1

local function store_error(message)
  return errors.new("store", message)
end

--- The store path: the `store` option, else ANIMO_STORE, else
-- $XDG_DATA_HOME/animo/store.json, else ~/.local/share/animo/store.json.
function M.path(option)
  if option then return option end
  local function env(name)
    local v = os.getenv(name)
    return v ~= "" and v or nil
  end
  local path = env("ANIMO_STORE")
  if path then return path end
  local data = env("XDG_DATA_HOME")
  if data then return data .. "/animo/store.json" end
  local home = env("HOME")
  if home then return home .. "/.local/share/animo/store.json" end
  return nil, store_error("no store path: set the store option, ANIMO_STORE or HOME")
end

-- How the document nests (see core.layout): the objects whose keys go one
-- per line, sorted, with two-space indents, so the file reads well and
-- diffs cleanly. shape[k] is the shape of the value at key k, shape[EACH]
-- that of every value. Any other value (a record, a scalar, a field animo
-- does not know) is one line of cjson.
local EACH = {}
local RECORDS = {}
local DOC = { servers = { [EACH] = { companies = { [EACH] = { webhooks = RECORDS, pending = RECORDS } } } } }

function M.encode(doc)
  return core.layout(doc, DOC, EACH, cjson.encode)
end

local Store = { __name = "animo.store" }
Store.__index = Store

function Store:__tostring()
  return ("animo.store (%s)"):format(self.path)
end

--- Opens (lazily: nothing touches the disk yet) the store at `path`.
function M.open(path)
  return setmetatable({ path = path, file = core.store(path) }, Store)
end

local function is_object(v)
  return type(v) == "table" and (next(v) == nil or v[1] == nil)
end

local function is_strings(v)
  if type(v) ~= "table" then return false end
  for k, item in pairs(v) do
    if math.type(k) ~= "integer" or type(item) ~= "string" then return false end
  end
  return true
end

-- A webhook record or an attach intent: known fields of the right types.
local RECORD_FIELDS = { id = "string", name = "string", url = "string", token = "string",
                        created_at = "string", started_at = "string" }

local function bad_record(rec)
  if not is_object(rec) or type(rec.name) ~= "string" then return true end
  for k, v in pairs(rec) do
    if k == "events" then
      if not is_strings(v) then return true end
    elseif RECORD_FIELDS[k] ~= type(v) then
      return true
    end
  end
  return false
end

--- Where `doc` departs from the store's shape (a path such as
-- servers["…"].companies["…"]), or nil when it is sound. A hand-edited
-- store must give an error here, never a crash later.
local function misshapen(doc)
  if not is_object(doc.servers) then return "servers" end
  for url, server in pairs(doc.servers) do
    local at = ("servers[%q]"):format(tostring(url))
    if not is_object(server) or (server.access_token ~= nil and type(server.access_token) ~= "string")
       or (server.companies ~= nil and not is_object(server.companies)) then
      return at
    end
    for company, acct in pairs(server.companies or {}) do
      local where = ("%s.companies[%q]"):format(at, tostring(company))
      if not is_object(acct) then return where end
      for _, part in ipairs{ "webhooks", "pending" } do
        if acct[part] ~= nil and not is_object(acct[part]) then return where .. "." .. part end
        for key, rec in pairs(acct[part] or {}) do
          if bad_record(rec) then return ("%s.%s[%q]"):format(where, part, tostring(key)) end
        end
      end
    end
  end
  return nil
end

-- The lock file's notes start with a header line naming them; a document
-- that has folded them in says so (notes_folded = "NAME:BYTES"), so they
-- are not folded in again after their attach settled. Folded notes are
-- cleared (under a new name) only once the file passes NOTES_KEPT bytes:
-- clearing after every attach would change the lock file, and so the next
-- fsync's journal commit, each time.
local NOTES_KEPT = 4096

--- The lock file's `text` as { text, name ("" without a header), body (the
-- byte where the notes start, past the header) }. The header is written
-- by core.store clear_notes.
local function read_notes(text)
  local _, header_end, name = text:find('^{"notes":"(%x+)"}\n')
  return { text = text, name = name or "", body = (header_end or 0) + 1 }
end

--- Adds the intents in `notes` (see read_notes) to `doc`'s pending, past
-- what it has folded in already and where their names are not pending. A
-- line that does not parse (one being written, or left torn by a power
-- cut) is skipped: notes are hints.
local function fold_notes(doc, notes)
  local from = notes.body
  local name, upto = tostring(doc.notes_folded):match("^(%x*):(%d+)$")
  if name == notes.name then from = math.max(from, tonumber(upto) + 1) end
  for line in notes.text:sub(from):gmatch("([^\n]*)\n") do
    local ok, note = pcall(cjson.decode, line)
    if ok and is_object(note) and type(note.base_url) == "string" and type(note.company) == "string"
       and not bad_record(note.intent) and note.intent.id == nil and note.intent.token == nil then
      local pending = M.account(doc, note.base_url, note.company, true).pending
      pending[note.intent.name] = pending[note.intent.name] or note.intent
    end
  end
end

--- The document in `text` (false: no file yet), checked; or nil, err.
local function parse(self, text)
  local ok, doc = true, { animo_store = FORMAT, servers = {} }
  if text then ok, doc = pcall(cjson.decode, text) end
  if not ok or not is_object(doc) then
    return nil, store_error(("store %s cannot be parsed%s; animo will not overwrite it: fix or move it")
      :format(self.path, ok and " (not an animo store)" or ": " .. tostring(doc):gsub("^.-: ", "")))
  end
  if doc.animo_store ~= FORMAT then
    return nil, store_error(("store %s has format %s, which this animo does not know; animo will not overwrite it")
      :format(self.path, tostring(doc.animo_store)))
  end
  doc.servers = doc.servers or {}
  local where = misshapen(doc)
  if where then
    return nil, store_error(("store %s has something unexpected at %s; animo will not overwrite it: fix or move it")
      :format(self.path, where))
  end
  return doc
end

--- Reads the whole document, without a lock: a replace is atomic, so a
-- reader sees the old or the new file, never a mix. A missing file is an
-- empty store. The intents noted in the lock file are in its pending.
-- `own` (a change, under the lock) takes the document this handle last
-- wrote when the file still holds exactly that text, instead of parsing
-- it again. Returns doc, nil, the notes (see read_notes), the file's text
-- (false: none); or nil, err.
function Store:load(own)
  local text, msg = self.file:read()
  if text == nil then return nil, store_error(msg) end
  local doc, err
  local written = self.written
  if own then self.written = nil end  -- the caller is about to change it
  if own and written and written.text == text then
    doc = written.doc
  else
    doc, err = parse(self, text)
    if not doc then return nil, err end
  end
  local notes
  notes, msg = self.file:notes()
  if notes == nil then return nil, store_error(msg) end
  notes = read_notes(notes or "")
  fold_notes(doc, notes)
  return doc, nil, notes, text
end

--- The text of `doc`, or nil, err.
local function encode_doc(self, doc)
  local ok, text = pcall(M.encode, doc)
  if ok then return text end
  -- e.g. a number JSON cannot hold, put there by hand
  return nil, store_error(("store %s cannot be written back (%s); it is unchanged"):format(self.path, tostring(text)))
end

--- Writes `doc` back (durably), saying it holds the `notes`, then clears
-- them under a new name once they are many. Returns nil or an error.
local function write_back(self, doc, notes)
  local noted = #notes.text >= notes.body
  if noted then doc.notes_folded = ("%s:%d"):format(notes.name, #notes.text) end
  local text, err = encode_doc(self, doc)
  if not text then return err end
  local done, msg = self.file:replace(text)
  if not done then return store_error(msg) end
  self.written = { text = text, doc = doc }
  if noted and #notes.text > NOTES_KEPT then
    -- A failure leaves notes the document says it holds: harmless.
    self.file:clear_notes()
  end
end

--- Adds note `lines` to the lock file, after `notes`, once a store of
-- `size` bytes with the notes and the records they will become could be
-- saved. Returns nil or an error; then, when known, what the lock file
-- holds now, as a notes_folded value (an empty file gets a header first,
-- whose name only the next read learns).
local function add_notes(self, notes, size, lines)
  if lines == nil or lines == "" then return nil end
  local text = notes.text
  if text ~= "" and text:sub(-1) ~= "\n" then lines = "\n" .. lines end  -- after a torn line
  local done, msg = self.file:check_room(size + #text + 2 * #lines + 512)
  if done then done, msg = self.file:note(lines) end
  if not done then return store_error(msg) end
  if text ~= "" then return nil, ("%s:%d"):format(notes.name, #text + #lines) end
end

--- Read-modify-write under the lock: fn(doc) edits doc in place; the
-- result, with the notes folded in, is written back and the notes cleared.
-- A `light` change writes no document: fn returns its value and note lines
-- (M.note_line, or ""), which are added to the lock file without fsync
-- once the store could take a write with them (see core.store check_room).
-- Waits for the lock at most `wait` seconds. Returns fn's value (true if
-- none), or nil, err, busy with the file unchanged (busy: another process
-- held the lock all along).
function Store:change(wait, fn, light)
  local locked, msg, busy = self.file:lock(wait)
  if not locked then return nil, store_error(msg), busy end
  local doc, err, notes, text = self:load(true)
  local result
  if doc then
    local ok, r, lines = pcall(fn, doc)
    if not ok then
      self.file:unlock()
      error(r, 0)  -- a bug in the caller: keep its traceback message
    end
    result = r
    if light then
      local folded
      err, folded = add_notes(self, notes, text and #text or 0, lines)
      -- The file is unchanged, and doc is what it reads as with the notes
      -- folded in (fn added only what its lines note): the next change
      -- can skip parsing it, and folding these notes again.
      if not err then
        doc.notes_folded = folded or doc.notes_folded
        self.written = { text = text, doc = doc }
      end
    else
      err = write_back(self, doc, notes)
    end
  end
  self.file:unlock()
  if err then return nil, err end
  if result == nil then return true end
  return result
end

--- The note line of an attach intent for `base_url` and `company` (see
-- fold_notes): what a light change adds to the lock file.
function M.note_line(base_url, company, intent)
  return cjson.encode{ base_url = base_url, company = company, intent = intent } .. "\n"
end

--- What a diagnosis needs to know of the store, without changing it:
-- { exists, problem (message) or nil, locked (by another process) }.
function Store:probe()
  local text, msg = self.file:read()
  local info = { exists = text ~= nil and text ~= false, problem = text == nil and msg or nil }
  if info.exists then
    local _, err = self:load()
    info.problem = err and err.message
  end
  if info.exists then  -- a lock would make the folders
    local locked, _, busy = self.file:lock(0)
    if locked then self.file:unlock() end
    info.locked = busy == true
  end
  return info
end

--- The part of `doc` for one server and company; created when `create`.
function M.account(doc, base_url, company, create)
  local server = doc.servers[base_url]
  if not server then
    if not create then return nil end
    server = { companies = {} }
    doc.servers[base_url] = server
  end
  server.companies = server.companies or {}
  local acct = server.companies[company]
  if not acct then
    if not create then return nil end
    acct = { webhooks = {}, pending = {} }
    server.companies[company] = acct
  end
  acct.webhooks = acct.webhooks or {}
  acct.pending = acct.pending or {}
  return acct
end

--- The access token saved by login for `base_url`, or nil (or nil, err).
function Store:access_token(base_url)
  local doc, err = self:load()
  if not doc then return nil, err end
  local server = doc.servers[base_url]
  return server and type(server.access_token) == "string" and server.access_token or nil
end

function Store:set_access_token(wait, base_url, token)
  return self:change(wait, function(doc)
    local server = doc.servers[base_url] or { companies = {} }
    server.access_token = token
    doc.servers[base_url] = server
    return true
  end)
end

return M
