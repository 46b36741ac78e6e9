--- animo.client — a client for one Animo company: attach, update and detach
-- webhooks over one kept-alive HTTPS connection.
-- Every operation returns its result or nil, err (an animo.error); only
-- programmer misuse (wrong argument types, unknown options) raises.
-- @module animo.client
local core = require "animo.core"
local cjson = require("cjson").new()
local check = require "animo.check"
local errors = require "animo.error"
local response = require "animo.response"
local retry = require "animo.retry"
local store = require "animo.store"
local task = require "animo.task"
local webhook = require "animo.webhook"

local M = {}

local max, min = math.max, math.min

local DEFAULT_BASE_URL = "https://app.animo.co/api/v1"
local STALL = 10  -- seconds without a byte before a try is abandoned

-- option = { type, environment variable, default }
local OPTIONS = {
  base_url = { "string", "ANIMO_BASE_URL", DEFAULT_BASE_URL },
  company = { "string", "ANIMO_COMPANY" },
  token = { "string", "ANIMO_TOKEN" },
  ca_file = { "string", "ANIMO_CA_FILE" },
  timeout = { "number", nil, 30 },
  deadline = { "number", nil, 60 },
  connect_timeout = { "number", nil, 10 },
  retries = { "number", nil, 2 },
  max_concurrency = { "number", nil, 16 },  -- transfers in flight, in tasks
  store = { "string" },  -- or false: keep nothing on disk; path rules in animo.store
}

local Client = { __name = "animo.client" }
Client.__index = Client

-- The access token is kept out of the client table, so no dump of it shows;
-- so is what is derived from it (see token_info).
local access_token = setmetatable({}, { __mode = "k" })
local derived = setmetatable({}, { __mode = "k" })

local ACCEPT = "Accept: application/json"
local USER_AGENT = "User-Agent: animo/" .. core.VERSION
local CONTENT_TYPE = "Content-Type: application/json"

local function escape(s)
  return (s:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function read_option(opts, name)
  local spec = opts[name]
  if spec ~= nil then return spec end
  local env = OPTIONS[name][2] and os.getenv(OPTIONS[name][2])
  if env ~= nil and env ~= "" then return env end
  return OPTIONS[name][3]
end

--- animo.client(opts): see API.md §2. Raises only for misuse (unknown
-- option, wrong type, out-of-range number); problems with the values
-- themselves (an http:// base_url, a missing company) are returned by the
-- first operation that needs them.
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("animo.client: options must be a table", 3) end
  for k, v in pairs(opts) do
    local spec = OPTIONS[k]
    if not spec then error(("animo.client: unknown option %q"):format(tostring(k)), 3) end
    if type(v) ~= spec[1] and not (k == "store" and v == false) then
      error(("animo.client: option %s must be a %s"):format(k, spec[1]), 3)
    end
    if spec[1] == "number" and not (v > 0 and v < math.huge or k == "retries" and v == 0) then
      error(("animo.client: option %s out of range"):format(k), 3)
    end
  end
  for _, k in ipairs{ "retries", "max_concurrency" } do
    if opts[k] and not math.tointeger(opts[k]) then
      error(("animo.client: option %s must be a whole number"):format(k), 3)
    end
  end
  local base_url = read_option(opts, "base_url"):gsub("/+$", "")
  local company = read_option(opts, "company")
  local self = setmetatable({
    base_url = base_url,
    base_url_ok = base_url:find("^https://[^/?#%s]+") and not base_url:find("[%c%s]"),
    base_path = base_url:match("^https://[^/]+(/.*)$") or "",
    company = company,
    webhooks_tail = "/" .. escape(company or "") .. "/webhooks/",  -- after base_url
    ca_file = read_option(opts, "ca_file"),
    timeout = read_option(opts, "timeout"),
    deadline = read_option(opts, "deadline"),
    connect_timeout = read_option(opts, "connect_timeout"),
    retries = math.tointeger(read_option(opts, "retries")),
    http = core.http(),
    limiter = task.limiter(math.tointeger(read_option(opts, "max_concurrency"))),
  }, Client)
  access_token[self] = read_option(opts, "token")
  self.token_source = opts.token and "the token option" or access_token[self] and "ANIMO_TOKEN" or nil
  if opts.store ~= false then
    local path, err = store.path(opts.store)
    self.store_problem = err
    self.store = path and store.open(path)
  end
  return self
end

--- A client, made by `animo.client{…}`; its methods are the operations.
-- @type Client

function Client:__tostring()
  return ("animo.client (%s, company %s)"):format(self.base_url, self.company or "unset")
end

function Client:close()
  self.http:close()
end
Client.__close = Client.close

local NO_COMPANY = "no company: set the company option or ANIMO_COMPANY"

--- Checks the settings an operation needs (the company unless
-- `no_company`); returns the access token's info (see token_info) or nil,
-- a usage error.
-- @local
function Client:credentials(no_company)
  if not self.base_url_ok then
    return nil, errors.new("usage", "base_url must be an https:// URL (option base_url or ANIMO_BASE_URL)")
  end
  if not self.company and not no_company then return nil, errors.new("usage", NO_COMPANY) end
  local token = access_token[self]
  if not token and self.store then
    local err
    token, err = self.store:access_token(self.base_url)
    if err then return nil, err end
    access_token[self] = token
    self.token_source = token and ("the store " .. self.store.path) or nil
  end
  if not token then
    return nil, errors.new("usage", "no access token: set the token option or ANIMO_TOKEN, or run animo login")
  end
  local info = self:token_info()
  if not info.valid then
    return nil, errors.new("usage", "the access token is too long or contains characters not allowed in an HTTP header")
  end
  return info
end

--- The error for a failed transfer (no HTTP response).
local function transfer_error(self, kind, message, ctx)
  local t = { method = ctx.method, path = ctx.path }
  if kind == "tls" then
    message = ("%s (CA: %s)"):format(message, self.ca_file or "the system store")
  elseif kind == "too_large" then
    kind = "protocol"
  elseif kind == "bad_request" then
    kind = "usage"
  end
  return errors.new(kind, message, t)
end

--- What the client derives from its access token (a string), worked out
-- once per token rather than per request: whether it is valid, its scopes
-- (see check.token_scopes) and the header lines of every request.
-- @local
function Client:token_info()
  local token, info = access_token[self], derived[self]
  if not info or info.token ~= token then
    local auth = "Authorization: Bearer " .. token
    info = {
      token = token,
      valid = check.token(token),
      scopes = check.token_scopes(token),
      headers = { auth, ACCEPT, USER_AGENT },
      body_headers = { auth, ACCEPT, USER_AGENT, CONTENT_TYPE },
    }
    derived[self] = info
  end
  return info
end

--- The where of an error about a webhooks route ("attach", …).
local function route_context(self, method, route)
  return { method = method, path = self.base_path .. self.webhooks_tail .. route }
end

--- Sends `payload` (nil: no body) as JSON to base_url .. `tail`, retrying
-- per animo.retry within the deadline. Returns the 2xx response, or nil,
-- err, sent (whether the last try may have reached the server). Errors
-- never show the access token or `webhook_token`.
-- @local
function Client:send(info, method, tail, payload, idempotent, webhook_token)
  local req = {
    method = method,
    url = self.base_url .. tail,
    headers = payload and info.body_headers or info.headers,
    body = payload and cjson.encode(payload),
    ca_file = self.ca_file,
    connect_timeout = max(self.connect_timeout, 0.001),
    stall = STALL,
    resend_ok = idempotent,
    timeout = min(self.timeout, self.deadline),  -- then what the deadline leaves
  }
  local deadline = core.now() + self.deadline
  local attempt = 0
  while true do
    attempt = attempt + 1
    if attempt > 1 then req.timeout = max(min(self.timeout, deadline - core.now()), 0.001) end
    local res, kind, message, sent
    if task.current() then
      res, kind, message, sent = task.request(self.limiter, req)
    else
      res, kind, message, sent = self.http:request(req)
    end
    if res and res.status >= 200 and res.status <= 299 then return res end
    local ctx = { method = method, path = self.base_path .. tail, secrets = { info.token, webhook_token } }
    local err
    if res then
      err, sent = response.error(res, ctx), true
    else
      err = transfer_error(self, kind, message, ctx)
    end
    err.retryable = retry.retryable(err, idempotent, sent)
    if not err.retryable or attempt > self.retries then return nil, err, sent end
    local wait = retry.backoff(attempt, err.retry_after)
    if core.now() + wait >= deadline then return nil, err, sent end
    task.sleep(wait)
  end
end

--- `v` when it is a string, else `default`.
local function str(v, default)
  if type(v) == "string" then return v end
  return default
end

--- `v` when it is a non-empty list of strings (a decoded answer's: ours to
-- keep), else nil.
local function strlist(v)
  if type(v) ~= "table" or v[1] == nil then return nil end
  for i = 1, #v do
    if type(v[i]) ~= "string" then return nil end
  end
  return v
end

local function copy_list(t)
  local c = {}
  for i = 1, #t do c[i] = t[i] end
  return c
end

--- The fields of a webhook the store keeps (a plain table for JSON).
local function store_record(wh)
  return { id = wh.id, name = wh.name, url = wh.url, events = copy_list(wh.events),
           created_at = wh.created_at, token = wh.token }
end

-- The edits of a client's account in the store (see change_account):
-- named functions of (account, a, b), so no closure is made per call.
local function keep_intent(acct, name, intent) acct.pending[name] = acct.pending[name] or intent end
local function drop_intent(acct, name) acct.pending[name] = nil end
local function forget(acct, id) acct.webhooks[id] = nil end

local function settle_attach(acct, name, wh)
  acct.pending[name] = nil
  acct.webhooks[wh.id] = store_record(wh)
end

local function save_update(acct, wh)
  if acct.webhooks[wh.id] or (wh.name and wh.url and wh.events[1]) then
    acct.webhooks[wh.id] = store_record(wh)
  end
end

--- A store error saying what `err` means for the caller: `fmt` of `...`.
local function store_failure(err, fmt, ...)
  return errors.new("store", ("%s (%s)"):format(fmt:format(...), err.message))
end

--- Whether a failed attach may still have created its webhook: the request
-- went out and the answer does not prove it was refused.
local function may_have_created(err, sent)
  local kind = err.kind
  return sent and (kind == "timeout" or kind == "network"
                   or kind == "server" and err.status ~= 503
                   or kind == "protocol" and (err.status or 200) < 300)
end

--- client:attach{ name=, url=, events={…} } -> webhook | nil, err
function Client:attach(spec)
  if type(spec) ~= "table" then error("attach: expected a table { name=, url=, events= }", 2) end
  local info, err = self:credentials()
  if not info then return nil, err end
  local problems = check.webhook(spec) or info.scopes and check.scopes(info.scopes, spec.events)
  if problems then return nil, errors.validation(problems, route_context(self, "POST", "attach")) end

  local name, url = spec.name, spec.url
  local events = { table.unpack(spec.events) }  -- checked: a few known names
  local intent = self.store and { name = name, url = url, events = events,
                                  started_at = os.date("!%Y-%m-%dT%H:%M:%S+00:00") }
  local had_intent
  had_intent, err = self:note_intent(intent)
  if err then return nil, err end

  local res, sent
  res, err, sent = self:send(info, "POST", self.webhooks_tail .. "attach",
                             { name = name, url = url, events = events }, false)
  local obj = res and response.object(res.body)
  if res and not (obj and str(obj.id) and str(obj.token)) then
    err, sent = errors.new("protocol", "the attach response holds no webhook id and token",
                           route_context(self, "POST", "attach")), true
  end
  if err then
    if may_have_created(err, sent) then
      err.message = ("%s; the webhook %q may have been created: check in Animo before attaching it again")
                    :format(err.message, name)
      -- Make the intent durable (it was only noted); a failure here leaves
      -- the note, which still lists it.
      self:edit_account(keep_intent, name, intent)
    elseif not had_intent then
      self:edit_account(drop_intent, name)
    end
    return nil, err
  end
  local wh = webhook.adopt{
    id = obj.id, token = obj.token,
    name = str(obj.name, name),
    url = str(obj.url, url),
    events = strlist(obj.events) or copy_list(events),  -- events also sits in the intent
    created_at = str(obj.created_at),
  }
  local _, store_err = self:edit_account(settle_attach, name, wh)
  if store_err then
    store_err = store_failure(store_err,
      "webhook %q was created but its token could not be saved: keep it from the returned record", wh.name)
  end
  return wh, store_err
end

--- Finds the stored record whose id or name is `key`; nil, problems when
-- there is none (or the name is ambiguous, or only an intent exists).
-- @local
function Client:stored(key)
  local doc, err = self.store:load()
  if not doc then return nil, err end
  local acct = store.account(doc, self.base_url, self.company, false)
  if not acct then return nil end
  if acct.webhooks[key] then return acct.webhooks[key] end
  local found
  for _, rec in pairs(acct.webhooks) do
    if rec.name == key then
      if found then
        return nil, nil, ("two stored webhooks are named %q: use the id"):format(key)
      end
      found = rec
    end
  end
  if not found and acct.pending[key] then
    return nil, nil, ("the attach of webhook %q has an unknown outcome, so no token is stored for it"):format(key)
  end
  return found
end

--- Resolves the first argument of update/detach to a record with an id and
-- a token: the argument itself, else the store's by id or name. Returns nil,
-- problems (or nil, nil, err for a store failure) when it cannot.
-- @local
function Client:resolve(target)
  if type(target) == "table" then
    if str(target.id) and str(target.token) then return target end
    target = target.id or target.name
  end
  local why = "pass the record attach returned, or { id = …, token = … }"
  if type(target) == "string" and self.store then
    local rec, err, problem = self:stored(target)
    if err then return nil, nil, err end
    if rec and str(rec.id) and str(rec.token) then return rec end
    why = problem or ("the store %s has no webhook with that id or name"):format(self.store.path)
  end
  return nil, { { "webhook", ("cannot find the id and token of webhook %q: %s"):format(tostring(target), why) } }
end

--- Runs fn(account, a, b) under the store lock for this client's base_url
-- and company, as a change of animo.store (`light`: fn also returns note
-- lines); does nothing without a store. Returns fn's value or nil, err.
local function change_account(self, light, fn, a, b)
  if not self.store then return nil, self.store_problem end
  local base_url, company = self.base_url, self.company
  return task.store_change(self.store, self.deadline, function(doc)
    return fn(store.account(doc, base_url, company, true), a, b)
  end, light)
end

local function note(acct, intent, self)
  if acct.pending[intent.name] then return true, "" end
  acct.pending[intent.name] = intent  -- seen by the rest of a batch, kept by a full write
  return false, store.note_line(self.base_url, self.company, intent)
end

--- Notes the intent of an attach about to be sent, as a light change;
-- does nothing without a store. Returns whether one for that name was
-- pending already, or nil, err.
-- @local
function Client:note_intent(intent)
  return change_account(self, true, note, intent, self)
end

--- change_account for a durable change.
-- @local
function Client:edit_account(fn, a, b)
  return change_account(self, false, fn, a, b)
end

--- Common part of update and detach: checks, then sends. Returns the 2xx
-- response and the resolved target, or nil, err.
-- @local
function Client:change(method, route, target, changes)
  local info, err = self:credentials()
  if not info then return nil, err end
  local found, problems, store_err = self:resolve(target)
  if store_err then return nil, store_err end
  problems = problems or (changes and check.changes(changes))
             or info.scopes and check.scopes(info.scopes, changes and changes.events)
             or not check.token(found.token)
                and { { "token", "the webhook token contains characters not allowed" } }
  if problems then return nil, errors.validation(problems, route_context(self, method, route)) end
  local payload = { id = found.id, token = found.token }
  if changes then
    for k, v in pairs(changes) do payload[k] = v end
  end
  local res
  res, err = self:send(info, method, self.webhooks_tail .. route, payload, true, found.token)
  if not res then return nil, err end
  return res, found
end

--- client:update(webhook, changes) -> webhook | nil, err
function Client:update(target, changes)
  if type(target) ~= "table" and type(target) ~= "string" then
    error("update: first argument must be a webhook id, name or record", 2)
  end
  if type(changes) ~= "table" then error("update: second argument must be a table of changes", 2) end
  local res, found = self:change("PATCH", "update", target, changes)
  if not res then return nil, found end
  local obj = response.object(res.body)
  if not obj then
    if res.body:find("%S") then
      return nil, errors.new("protocol", "the update response is not a JSON object",
                             route_context(self, "PATCH", "update"))
    end
    obj = {}
  end
  local wh = webhook.adopt{
    id = found.id,
    token = str(obj.token, found.token),
    name = str(obj.name, changes.name or found.name),
    url = str(obj.url, changes.url or found.url),
    events = strlist(obj.events) or copy_list(changes.events or found.events or {}),
    created_at = str(obj.created_at, found.created_at),
  }
  local _, store_err = self:edit_account(save_update, wh)
  if store_err then
    store_err = store_failure(store_err,
      "webhook %q was updated but the store could not be: keep its token from the returned record", tostring(wh.name))
  end
  return wh, store_err
end

--- client:detach(webhook) -> true | nil, err
function Client:detach(target)
  if type(target) ~= "table" and type(target) ~= "string" then
    error("detach: argument must be a webhook id, name or record", 2)
  end
  local res, found = self:change("DELETE", "detach", target, nil)
  if not res then return nil, found end
  local _, store_err = self:edit_account(forget, found.id)
  if store_err then
    return nil, store_failure(store_err, "webhook %s was detached but its record could not be removed from the store", found.id)
  end
  return true
end

local UNKNOWN_NOTE = "its attach did not finish, so it may or may not exist in Animo: attach it again " ..
                     "with the same name; if Animo answers that the name is taken, delete it in Animo first"

--- client:webhooks() -> list of records in the store for this base_url and
-- company, sorted by name (no network call). Each has status "attached",
-- or "outcome unknown" (no id or token; `note` says what to do).
function Client:webhooks()
  local list = {}
  if not self.company then return nil, errors.new("usage", NO_COMPANY) end
  if not self.store then
    if self.store_problem then return nil, self.store_problem end
    return list
  end
  local doc, err = self.store:load()
  if not doc then return nil, err end
  local acct = store.account(doc, self.base_url, self.company, false)
  if not acct then return list end
  for _, rec in pairs(acct.webhooks) do
    local wh = webhook.new(rec)
    wh.status = "attached"
    list[#list + 1] = wh
  end
  for _, intent in pairs(acct.pending) do
    local wh = webhook.new(intent)
    wh.status, wh.note, wh.started_at = "outcome unknown", UNKNOWN_NOTE, intent.started_at
    list[#list + 1] = wh
  end
  table.sort(list, function(a, b)
    if a.name ~= b.name then return tostring(a.name) < tostring(b.name) end
    return tostring(a.id) < tostring(b.id)
  end)
  return list
end

--- client:login(token) -> true | nil, err: saves the access token in the
-- store for this base_url; later clients without a token option use it.
function Client:login(token)
  if type(token) ~= "string" then error("login: expected the access token as a string", 2) end
  if not check.token(token) then
    return nil, errors.new("validation", "the access token is empty or contains spaces or control characters")
  end
  if not self.store then
    return nil, self.store_problem or errors.new("usage", "login needs a store (the client has store = false)")
  end
  local ok, err = self.store:set_access_token(self.deadline, self.base_url, token)
  if not ok then return nil, err end
  access_token[self] = token
  return true
end

--- GET base_url .. tail -> the decoded JSON document | nil, err.
-- @local
function Client:get(tail)
  local info, err = self:credentials(true)
  if not info then return nil, err end
  local res
  res, err = self:send(info, "GET", tail, nil, true)
  if not res then return nil, err end
  local doc = response.object(res.body)
  if not doc then
    return nil, errors.new("protocol", "the answer is not a JSON object", { method = "GET", path = self.base_path .. tail })
  end
  return doc
end

--- client:user() -> the user the access token belongs to | nil, err.
function Client:user()
  return self:get("/user")
end

--- client:companies() -> list of { id, name } the token may see (the first
-- page of Animo's list) | nil, err.
function Client:companies()
  local doc, err = self:get("/companies")
  if not doc then return nil, err end
  local list = {}
  for _, c in ipairs(type(doc) == "table" and doc[1] and doc or {}) do
    if type(c) == "table" and type(c.id) == "string" then
      list[#list + 1] = { id = c.id, name = type(c.name) == "string" and c.name or nil }
    end
  end
  return list
end

--- client:describe() -> what this client would use, for diagnosis; never
-- the token itself: { base_url, company, ca_file (nil: the system store),
-- store (path or false), token_source, token_claims (a JWT's payload) }.
function Client:describe()
  self:credentials(true)  -- loads a token saved by login, if any
  local token = access_token[self]
  return {
    base_url = self.base_url, company = self.company, ca_file = self.ca_file,
    store = self.store and self.store.path or false, store_problem = self.store_problem,
    token_source = token and self.token_source or nil,
    token_claims = token and check.token_claims(token) or nil,
  }
end

return M
