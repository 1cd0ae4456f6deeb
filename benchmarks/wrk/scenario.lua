-- One wrk script for every scenario:
--   wrk ... -s scenario.lua URL -- <scenario> <tokens> <reads> <consumed> <query>
--
-- <tokens>:   one access token per line; line i belongs to user i of the run.
-- <reads>:    lines "<token line> <task id>": tasks read or patched at random (never deleted).
-- <consumed>: the same format: tasks completed or deleted, each once. Each thread walks its
--             own stride, so a delete or a complete never hits a task twice.
-- <query>:    the query string of the filtered / search scenarios. "-" stands for "none".
-- Every request carries the bearer token of the task's owner (or of a listing user), so a run
-- uses many distinct users, as production does.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function read_lines(path)
  local lines = {}
  if path == nil or path == "" or path == "-" then
    return lines
  end
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  return lines
end

local function read_pool(path)
  local pool = {}
  for _, line in ipairs(read_lines(path)) do
    local t, task = line:match("^(%d+) (%S+)$")
    table.insert(pool, { tonumber(t), task })
  end
  return pool
end

local scenario, tokens, reads, consumed, query, nthreads, cursor
local create_body = '{"title":"Benchmark task","description":"Created by the load test"}'
local patch_body = '{"title":"Renamed by the load test"}'
local base = "/api/v1/tasks"

function init(args)
  scenario = args[1]
  tokens = read_lines(args[2])
  reads = read_pool(args[3])
  consumed = read_pool(args[4])
  query = args[5] or "-"
  nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
  cursor = id -- this thread's first slot in `consumed`; advances by nthreads
  math.randomseed(id * 7919 + os.time())
end

local function auth(token_line)
  return {
    ["Authorization"] = "Bearer " .. tokens[token_line],
    ["Content-Type"] = "application/json",
  }
end

local function next_item()
  local item = consumed[cursor]
  cursor = cursor + nthreads
  if cursor > #consumed then
    cursor = id -- wrapped: later writes repeat (complete becomes its idempotent no-op)
  end
  return item
end

local function random_item()
  return reads[math.random(#reads)]
end

-- The owner of a random task of the read pool: a user who has tasks (the listing pool for
-- the listing scenarios).
local function random_user()
  return reads[math.random(#reads)][1]
end

local builders = {}

builders.healthz = function()
  return wrk.format("GET", "/healthz")
end

builders.floor_sync = function()
  local item = random_item()
  return wrk.format("GET", "/floor/sync/" .. item[2], auth(item[1]))
end

builders.floor_async = function()
  local item = random_item()
  return wrk.format("GET", "/floor/async/" .. item[2], auth(item[1]))
end

builders.get = function()
  local item = random_item()
  return wrk.format("GET", base .. "/" .. item[2], auth(item[1]))
end

builders.list = function()
  return wrk.format("GET", base, auth(random_user()))
end

builders.filtered = function()
  return wrk.format("GET", base .. "?" .. query, auth(random_user()))
end

builders.search = builders.filtered

builders.create = function()
  return wrk.format("POST", base, auth(random_user()), create_body)
end

builders.patch = function()
  local item = random_item()
  return wrk.format("PATCH", base .. "/" .. item[2], auth(item[1]), patch_body)
end

builders.complete = function()
  local item = next_item()
  return wrk.format("POST", base .. "/" .. item[2] .. "/complete", auth(item[1]))
end

-- A recurring task moves to its next due on every complete, so the pool is reused (<reads>
-- is the recurring pool for this scenario).
builders.complete_recurring = function()
  local item = random_item()
  return wrk.format("POST", base .. "/" .. item[2] .. "/complete", auth(item[1]))
end

builders.delete = function()
  local item = next_item()
  return wrk.format("DELETE", base .. "/" .. item[2], auth(item[1]))
end

-- Issue 17. A conditional read of a task the client has: 304 Not Modified, no body (seeded
-- tasks are version 1; one the patch scenario has changed answers 200).
builders.get_304 = function()
  local item = random_item()
  local headers = auth(item[1])
  headers["If-None-Match"] = '"1"'
  return wrk.format("GET", base .. "/" .. item[2], headers)
end

-- A create with a fresh Idempotency-Key each time: the key's lookup and stored response.
local keyed = 0
builders.create_keyed = function()
  keyed = keyed + 1
  local headers = auth(random_user())
  headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", id, os.time(), keyed)
  return wrk.format("POST", base, headers, create_body)
end

-- 60% reads, 40% writes: 30% get, 20% first page, 10% filtered page, 15% create,
-- 15% patch, 5% complete, 5% delete.
builders.mix = function()
  local r = math.random(100)
  if r <= 30 then
    return builders.get()
  elseif r <= 50 then
    return builders.list()
  elseif r <= 60 then
    return builders.filtered()
  elseif r <= 75 then
    return builders.create()
  elseif r <= 90 then
    return builders.patch()
  elseif r <= 95 then
    return builders.complete()
  end
  return builders.delete()
end

function request()
  return builders[scenario]()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,'
      .. '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean
  ))
end
