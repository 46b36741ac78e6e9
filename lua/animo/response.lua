--- animo.response — what an Animo answer means. Tolerant by design: any
-- 2xx is success, the `data` wrapper is optional, bodies may be HTML or not
-- JSON at all. Never raises, whatever the server sends (a fuzz target,
-- spec/fuzz/fuzz_response.c, holds it to that).
local cjson = require("cjson").new()
local errors = require "animo.error"
local retry = require "animo.retry"

local M = {}

-- Error kinds and default sentences for HTTP statuses that are not 2xx.
local STATUS_KIND = {
  [401] = { "auth", "the access token was not accepted" },
  [403] = { "forbidden", "the access token may not do this (scope, plan or company access)" },
  [404] = { "not_found", "not found: check base_url and company" },
  [422] = { "validation", "the server rejected the request" },
  [429] = { "rate_limited", "too many requests" },
}

local function decode(body)
  local ok, v = pcall(cjson.decode, body)
  if ok then return v end
  return nil
end

--- Replaces every secret in `s` (a server-supplied text) with [redacted].
local function redact(s, secrets)
  for _, secret in ipairs(secrets) do
    if type(secret) == "string" and #secret >= 8 then
      local i, j = s:find(secret, 1, true)
      while i do
        s = s:sub(1, i - 1) .. "[redacted]" .. s:sub(j + 1)
        i, j = s:find(secret, i + 10, true)
      end
    end
  end
  return s
end

--- The error for a non-2xx response `res` ({ status, body, retry_after }),
-- built from its status and body. `ctx` gives method, path and the secrets
-- to keep out of messages.
function M.error(res, ctx)
  local status = res.status
  local entry = STATUS_KIND[status]
  local kind, default
  if entry then
    kind, default = entry[1], entry[2]
  elseif status >= 500 and status <= 599 then
    kind, default = "server", ("server error (HTTP %d)"):format(status)
  elseif status >= 300 and status <= 399 then
    kind, default = "protocol", ("unexpected redirect (HTTP %d): check base_url"):format(status)
  else
    kind, default = "protocol", ("unexpected HTTP status %d"):format(status)
  end
  local doc = decode(res.body)
  local message = type(doc) == "table" and type(doc.message) == "string"
                  and doc.message ~= "" and doc.message or default
  local t = { status = status, method = ctx.method, path = ctx.path,
              retry_after = retry.parse_retry_after(res.retry_after) }
  message = redact(message, ctx.secrets)
  if kind == "validation" then
    local problems = {}
    if type(doc) == "table" and type(doc.errors) == "table" then
      for key, msgs in pairs(doc.errors) do
        local field = tostring(key):match("^[^.]+")
        for _, m in ipairs(type(msgs) == "table" and msgs or { msgs }) do
          problems[#problems + 1] = { field, redact(tostring(m), ctx.secrets) }
        end
      end
    end
    return errors.validation(problems[1] and problems or { { "request", message } }, t, message)
  end
  return errors.new(kind, message, t)
end

--- The webhook object of a 2xx body: `data` wrapper or bare; nil if the
-- body is not a JSON object.
function M.object(body)
  local doc = decode(body)
  if type(doc) ~= "table" then return nil end
  if type(doc.data) == "table" then return doc.data end
  return doc
end

return M
