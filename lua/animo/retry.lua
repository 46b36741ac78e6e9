--- animo.retry — when to try a request again, and how long to wait.
-- The whole policy of API.md §4 lives here.
local M = {}

local BASE, CAP = 0.25, 8          -- seconds: first backoff step, largest step
local RETRY_AFTER_CAP = 120        -- seconds: longest server-asked wait we honour

--- Whether `err` may be retried. `idempotent` is true for update and detach
-- (same id and token: repeating them is safe), false for attach, which is
-- retried only when the request surely was not processed; `sent` tells
-- whether the failed try's request reached the network.
function M.retryable(err, idempotent, sent)
  local kind, status = err.kind, err.status
  if status == 429 or status == 503 then return true end
  if kind == "network" or kind == "timeout" then
    return idempotent or not sent
  end
  if idempotent and (status == 500 or status == 502 or status == 504) then
    return true
  end
  return false
end

--- Seconds to wait before try number `attempt` + 1 (attempt counts from 1):
-- full jitter over an exponential step, or the server's Retry-After when
-- that is longer.
function M.backoff(attempt, retry_after, random)
  local step = math.min(CAP, BASE * 2 ^ (attempt - 1))
  local wait = (random or math.random)() * step
  if retry_after and retry_after > wait then wait = retry_after end
  return wait
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

--- Seconds since the epoch for a UTC calendar date (no time zone library
-- needed; Howard Hinnant's days-from-civil).
local function utc_epoch(y, m, d, hh, mm, ss)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + hh * 3600 + mm * 60 + ss
end

--- Parses a Retry-After value (delay seconds or an HTTP date) into seconds
-- from now, capped; nil when absent or unreadable.
function M.parse_retry_after(value, now)
  if type(value) ~= "string" then return nil end
  local secs = value:match("^%s*(%d+)%s*$")
  if secs then
    secs = tonumber(secs)
  else
    local d, mon, y, hh, mm, ss =
      value:match("^%a+, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
    if not d or not MONTHS[mon] then return nil end
    secs = utc_epoch(tonumber(y), MONTHS[mon], tonumber(d), tonumber(hh),
                     tonumber(mm), tonumber(ss)) - (now or os.time())
    if secs < 0 then secs = 0 end
  end
  return math.min(secs, RETRY_AFTER_CAP)
end

return M
