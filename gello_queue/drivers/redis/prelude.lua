-- Shared by every script (prepended at load time). All keys of one queue share a hash
-- tag, so scripts build job keys from the prefixes they are given and stay in one slot.
local BAND = 1e13       -- ms; one priority band in the ready score (year 2286 fits)
local WAKE_CAP = 16     -- tokens kept on a wake-up list: enough for a burst of waiters

local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function fmt(x)
  return string.format('%.6f', x)
end

-- Priority (higher first) then availability (older first): ZPOPMIN yields the best job.
local function ready_score(priority, available_at)
  local p = tonumber(priority) or 0
  if p > 10 then p = 10 elseif p < -10 then p = -10 end
  return (10 - p) * BAND + (tonumber(available_at) or 0) * 1000
end

local function wake(key, n)
  if n <= 0 then return end
  if n > WAKE_CAP then n = WAKE_CAP end
  local t = {}
  for i = 1, n do t[i] = '1' end
  redis.call('LPUSH', key, unpack(t))
  redis.call('LTRIM', key, 0, WAKE_CAP - 1)
end

local function unlock(uprefix, ukey, id)
  if ukey and ukey ~= '' then
    local k = uprefix .. ukey
    if redis.call('GET', k) == id then redis.call('DEL', k) end
  end
end

-- The attempts field n: absent until the first reserve, then a count. Anything else
-- was not written by gello; nil says so.
local function attempts_of(n)
  if not n then return 0 end
  n = tostring(n)
  if #n < 16 and string.match(n, '^%d+$') then return tonumber(n) end
  return nil
end

-- The failed store's indexes (keys.py): per queue, one zset per fingerprint, and hashes
-- fingerprint -> count, job name and exception. A fingerprint stands for one job name
-- and one exception, so filters by name or exception pick fingerprints, and their zsets
-- are the pages. The failed prefix is "<tag>f:"; the index keys are "<tag>fx:...".
local function fx_tag(fprefix)
  return string.sub(fprefix, 1, -3) .. 'fx:'
end

-- Index the failed job id (its hash written) under fingerprint fp.
local function fx_add(fprefix, id, name, exc, fp, at)
  local t = fx_tag(fprefix)
  redis.call('HSET', fprefix .. id, 'name', name, 'fp', fp)
  redis.call('ZADD', t .. 'f:' .. fp, at, id)
  redis.call('HINCRBY', t .. 'n', fp, 1)
  redis.call('HSET', t .. 'name', fp, name)
  redis.call('HSET', t .. 'exc', fp, exc)
end

-- Take the failed job id out of the indexes (before its hash is deleted).
local function fx_del(fprefix, id)
  local t = fx_tag(fprefix)
  local fp = redis.pcall('HGET', fprefix .. id, 'fp')
  if type(fp) ~= 'string' then
    redis.call('SREM', t .. 'todo', id)
    return
  end
  if redis.call('ZREM', t .. 'f:' .. fp, id) == 0 then return end
  if redis.call('HINCRBY', t .. 'n', fp, -1) <= 0 then
    redis.call('HDEL', t .. 'n', fp)
    redis.call('HDEL', t .. 'name', fp)
    redis.call('HDEL', t .. 'exc', fp)
  end
end

-- Store a failure. name and fp come from the client (the fingerprint rule is Python's);
-- a script failing a job on its own (rescue, a malformed job) has neither, so the job
-- waits in "todo" until the next query indexes it.
local function to_failed(fprefix, failed_key, id, queue, body, exc, msg, tb, attempts, now,
                         name, fp)
  local k = fprefix .. id
  fx_del(fprefix, id)
  redis.call('DEL', k)
  redis.call('HSET', k, 'queue', queue, 'body', body, 'exception', exc, 'message', msg,
    'traceback', tb, 'failed_at', fmt(now), 'attempts', attempts_of(attempts) or 0)
  redis.call('ZADD', failed_key, now, id)
  if fp and fp ~= '' then
    fx_add(fprefix, id, name, exc, fp, now)
  else
    redis.call('SADD', fx_tag(fprefix) .. 'todo', id)
  end
end

-- Any key can be overwritten by another tool (a string where a job hash was, a count
-- that is not a number), and Redis does not roll a script back when a command fails
-- part-way: the ids it already moved would be lost. So every script that moves jobs
-- reads them with redis.pcall, which returns a wrong-type error as a table instead of
-- raising, and decides what to do with each before it writes anything.

-- Why the job at key k (v: its HMGET reply for body and n, through redis.pcall)
-- cannot run as stored, or nil when it can.
local function malformed(k, v)
  if v.err then
    return 'the stored job is a Redis ' .. redis.call('TYPE', k).ok .. ', not a job hash'
  end
  if not attempts_of(v[2]) then
    return "the stored job's attempt count n is not a number ('" .. string.sub(v[2], 1, 40)
      .. "')"
  end
  return nil
end

-- A malformed job leaves its queue for the failed store (as an EnvelopeError with the
-- reason), so it is seen and can be retried or forgotten; what it held is kept as the
-- body when it is text.
local function quarantine(jprefix, fprefix, failed_key, uprefix, queue, id, reason, now)
  local k = jprefix .. id
  local body = ''
  local t = redis.call('TYPE', k).ok
  if t == 'string' then
    body = redis.call('GET', k)
  elseif t == 'hash' then
    local v = redis.call('HMGET', k, 'body', 'u')
    body = v[1] or ''
    unlock(uprefix, v[2], id)
  end
  redis.call('DEL', k)
  to_failed(fprefix, failed_key, id, queue, body, 'EnvelopeError',
    reason .. ': it was not written by gello; fix what wrote it, then retry or forget the'
      .. ' job', '', 0, now)
end

-- A job hash keeps few fields, because each field costs on every push: body, m (the
-- fixed facts "available_at|priority|max_attempts|created_at"), n (attempts, absent
-- until the first reserve), l ("token|worker" while leased) and u (unique key).
local function meta(m)
  if not m then return 0, 0, 1, 0 end
  local at, p, max, c = string.match(m, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(at) or 0, tonumber(p) or 0, tonumber(max) or 1, tonumber(c) or 0
end

local function with_at(m, at)
  local at_, p, max, c = meta(m)
  return fmt(at) .. '|' .. p .. '|' .. max .. '|' .. fmt(c)
end

-- The lease field is "token|worker": the token alone proves the holder.
local function holds(l, token)
  return l and string.sub(l, 1, #token + 1) == token .. '|'
end

-- Due delayed jobs move to ready here, on the way to being reserved: no scheduler process.
local function promote_due(ready, delayed, jprefix, now, max)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
  if #due == 0 then return 0 end
  local args = {}
  for i = 1, #due, 2 do
    -- A key that is not a job hash moves too: reserve sends it to the failed store.
    local m = redis.pcall('HGET', jprefix .. due[i], 'm')
    local _, pr = meta(type(m) == 'string' and m)
    args[#args + 1] = ready_score(pr, due[i + 1])
    args[#args + 1] = due[i]
  end
  redis.call('ZADD', ready, unpack(args))
  redis.call('ZREMRANGEBYRANK', delayed, 0, #due / 2 - 1)
  return #due / 2
end

-- A job as the inspection calls show it, or false when it is gone.
local function record(jprefix, reserved, id, now)
  local v = redis.pcall('HMGET', jprefix .. id, 'n', 'm', 'body', 'l')
  if v.err or not v[3] then return false end
  local at, p, _, created = meta(v[2])
  local state, lease, by = 'pending', '', ''
  if v[4] then
    state = 'reserved'
    lease = redis.call('ZSCORE', reserved, id) or ''
    by = string.match(v[4], '^[^|]*|(.*)$') or ''
  elseif at > now then
    state = 'scheduled'
  end
  return {id, state, tostring(attempts_of(v[1]) or 0), string.format('%d', p), fmt(at),
    fmt(created), v[3], by, lease}
end
