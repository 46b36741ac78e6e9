--- animo.task — tasks for hosts that must never block (games, editors).
--
-- A task is a coroutine. A client call made inside one starts its transfer
-- on the engine's curl multi handle and yields; animo.poll() advances every
-- transfer without blocking and resumes the tasks whose transfers finished
-- (or whose retry wait ended). Outside a task the same calls block, using
-- the client's own handle. Only poll() and run() resume tasks.
--
-- Engine state lives in this module, so each Lua state has its own.
-- @module animo.task
local core = require "animo.core"
local errors = require "animo.error"

local M = {}

-- A poll resumes tasks for at most this long, and starts at most this many
-- transfers (each may mean a TLS handshake); the rest waits for the next
-- poll, so a frame never pays for a burst. run() has no frames to protect.
local RESUME_BUDGET = 0.001
local STARTS_PER_POLL = 2
local resume_budget, starts_per_poll = RESUME_BUDGET, STARTS_PER_POLL
local POOL_MAX = 64          -- idle transfer handles kept for reuse

local WAIT = setmetatable({}, { __name = "animo.task.wait" })  -- what engine yields carry

local multi                  -- core.multi(), made on first use
local by_co = setmetatable({}, { __mode = "k" })  -- coroutine -> its task
local ready = {}             -- { task, n, values… } to resume in this poll
local later = {}             -- the same, for the next poll
local transfers = {}         -- handle -> { task, limiter } while running
local timers = {}            -- { at = monotonic seconds, task = … }
local writes = {}            -- store path -> { store, items = { { fn, task, give_up } } }
local pool = {}              -- idle core.http handles
local unfinished = 0
local starts = 0             -- transfers started in this poll
local polling = false

local Task = { __name = "animo.task" }
Task.__index = Task

function Task:__tostring()
  local state = not self.done and "running" or (self.results[1] == nil and "failed" or "done")
  return ("animo.task (%s)"):format(state)
end

--- task:result() -> the function's returns, or nil, err if it raised or
-- returned nil, err. Before the task is done: nil and a usage error.
function Task:result()
  if not self.done then return nil, errors.new("usage", "the task has not finished") end
  return table.unpack(self.results, 1, self.results.n)
end

local function push(queue, task, ...)
  queue[#queue + 1] = table.pack(task, ...)
end

--- The task running now, or nil outside tasks.
function M.current()
  return by_co[coroutine.running()]
end

--- animo.spawn(fn, ...) -> task: fn(...) runs as a task from the next poll.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("animo.spawn: expected a function", 2) end
  local task = setmetatable({ done = false, co = coroutine.create(fn) }, Task)
  by_co[task.co] = task
  unfinished = unfinished + 1
  push(ready, task, ...)
  return task
end

local function finish(task, ok, r)
  task.done, task.co = true, nil
  unfinished = unfinished - 1
  if ok then
    task.results = table.pack(table.unpack(r, 2, r.n))
  else
    local err = r[2]
    if not errors.is(err) then err = errors.new("usage", "task raised: " .. tostring(err)) end
    task.results = table.pack(nil, err)
  end
end

local function resume(entry)
  local task = entry[1]
  local r = table.pack(coroutine.resume(task.co, table.unpack(entry, 2, entry.n)))
  if coroutine.status(task.co) == "dead" then
    finish(task, r[1], r)
  elseif r[2] ~= WAIT then
    push(later, task)  -- the task yielded for its own reasons: back next poll
  end
end

--- A bound on transfers in flight (one per client: max_concurrency).
function M.limiter(max)
  return { max = max, active = 0, queue = {} }
end

--- Inside a task: waits (yielding) until `limiter` and this poll's start
-- budget allow one more transfer.
local function take_slot(task, limiter)
  while limiter.active >= limiter.max or starts >= starts_per_poll do
    if limiter.active >= limiter.max then
      limiter.queue[#limiter.queue + 1] = task
    else
      push(later, task)
    end
    coroutine.yield(WAIT)
  end
  limiter.active = limiter.active + 1
  starts = starts + 1
end

local function release_slot(limiter)
  limiter.active = limiter.active - 1
  local next_task = table.remove(limiter.queue, 1)
  if next_task then push(ready, next_task) end
end

--- Inside a task: runs `req` (a core.http request table) on the engine and
-- returns what http:request would.
function M.request(limiter, req)
  local task = M.current()
  take_slot(task, limiter)
  multi = multi or core.multi()
  local h = table.remove(pool) or core.http()
  local ok, kind, message, sent = multi:add(h, req)
  if not ok then
    release_slot(limiter)
    pool[#pool + 1] = h
    return nil, kind, message, sent
  end
  transfers[h] = { task = task, limiter = limiter }
  return select(2, coroutine.yield(WAIT))
end

--- Waits `seconds`: a timer inside a task, a plain sleep outside.
function M.sleep(seconds)
  local task = M.current()
  if not task then return core.sleep(seconds) end
  timers[#timers + 1] = { at = core.now() + seconds, task = task }
  coroutine.yield(WAIT)
end

--- store:change(wait, fn, light), for the client. Inside a task the change
-- joins the other tasks' changes to the same store: one locked write for
-- all at the end of the poll (light only when all of them are), which never
-- waits for the lock (while another process holds it, the write is tried
-- again each poll until `wait` ends).
function M.store_change(st, wait, fn, light)
  local task = M.current()
  if not task then return st:change(wait, fn, light) end
  local batch = writes[st.path]
  if not batch then
    batch = { store = st, items = {} }
    writes[st.path] = batch
  end
  batch.items[#batch.items + 1] = { fn = fn, light = light, task = task, give_up = core.now() + wait }
  return select(2, coroutine.yield(WAIT))
end

-- Makes the batched store writes; each task gets its own copy of an error.
local function flush()
  for path, batch in pairs(writes) do
    local results, light = {}, true
    for _, item in ipairs(batch.items) do light = light and item.light end
    local ok, err, busy = batch.store:change(0, function(doc)
      local lines = {}
      for i, item in ipairs(batch.items) do
        local r, line = item.fn(doc)
        if r == nil then r = true end
        results[i] = r
        lines[#lines + 1] = line
      end
      return true, table.concat(lines)
    end, light)
    local keep = {}
    for i, item in ipairs(batch.items) do
      if ok then
        push(ready, item.task, WAIT, results[i])
      elseif busy and core.now() < item.give_up then
        keep[#keep + 1] = item
      else
        push(ready, item.task, WAIT, nil, errors.new("store", err.message))
      end
    end
    batch.items = keep
    if not keep[1] then writes[path] = nil end
  end
end

-- Hands finished transfers and due timers to their tasks.
local function collect()
  if multi then
    while true do
      local h, res, kind, message, sent = multi:done()
      if not h then break end
      local t = transfers[h]
      transfers[h] = nil
      if #pool < POOL_MAX then pool[#pool + 1] = h else h:close() end
      release_slot(t.limiter)
      push(ready, t.task, WAIT, res, kind, message, sent)
    end
  end
  local now = core.now()
  for i = #timers, 1, -1 do
    if timers[i].at <= now then
      push(ready, table.remove(timers, i).task)
    end
  end
end

local function next_timer()
  local at
  for _, t in ipairs(timers) do
    if not at or t.at < at then at = t.at end
  end
  return at
end

-- Resumes ready tasks until the budget is spent; the rest stay ready.
local function resume_ready(stop)
  while ready[1] and core.now() < stop do
    resume(table.remove(ready, 1))
  end
end

local function poll(ms)
  local start = core.now()
  starts = 0
  for _, entry in ipairs(later) do ready[#ready + 1] = entry end
  later = {}
  if multi then multi:perform(0) end
  collect()
  resume_ready(start + resume_budget)
  flush()
  if not ready[1] and not later[1] and ms > 0 then
    local wait = start + ms / 1000 - core.now()
    local at = next_timer()
    if at then wait = math.min(wait, at - core.now()) end
    if next(writes) then wait = math.min(wait, 0.005) end  -- a busy store lock
    if wait > 0 then
      if multi and next(transfers) then multi:perform(wait) else core.sleep(wait) end
      if multi then multi:perform(0) end
      collect()
      resume_ready(core.now() + resume_budget)
      flush()
    end
  end
end

--- animo.poll([ms]) -> unfinished tasks. Advances all transfers, resumes
-- ready tasks, and waits at most `ms` milliseconds (default 0) for I/O.
-- Never raises for what a task does.
function M.poll(ms)
  ms = ms or 0
  if type(ms) ~= "number" or ms < 0 then error("animo.poll: ms must be a number >= 0", 2) end
  if polling or M.current() then error("animo.poll: called from inside a task", 2) end
  polling = true
  local ok, err = pcall(poll, ms)
  polling = false
  if not ok then error(err, 0) end
  return unfinished
end

--- animo.run(): polls until every task has finished.
function M.run()
  if polling or M.current() then error("animo.run: called from inside a task", 2) end
  resume_budget, starts_per_poll = math.huge, math.huge
  local ok, err = pcall(function()
    while unfinished > 0 do M.poll(50) end
  end)
  resume_budget, starts_per_poll = RESUME_BUDGET, STARTS_PER_POLL
  if not ok then error(err, 0) end
end

return M
