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

local function to_failed(fprefix, failed_key, id, queue, body, exc, msg, tb, attempts, now)
  local k = fprefix .. id
  redis.call('DEL', k)
  redis.call('HSET', k, 'queue', queue, 'body', body, 'exception', exc, 'message', msg,
    'traceback', tb, 'failed_at', fmt(now), 'attempts', attempts)
  redis.call('ZADD', failed_key, now, id)
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
    local _, pr = meta(redis.call('HGET', jprefix .. due[i], 'm'))
    args[#args + 1] = ready_score(pr, due[i + 1])
    args[#args + 1] = due[i]
  end
  redis.call('ZADD', ready, unpack(args))
  redis.call('ZREMRANGEBYRANK', delayed, 0, #due / 2 - 1)
  return #due / 2
end

-- A job as the inspection calls show it, or false when it is gone.
local function record(jprefix, reserved, id, now)
  local v = redis.call('HMGET', jprefix .. id, 'n', 'm', 'body', 'l')
  if not v[3] then return false end
  local at, p, _, created = meta(v[2])
  local state, lease, by = 'pending', '', ''
  if v[4] then
    state = 'reserved'
    lease = redis.call('ZSCORE', reserved, id) or ''
    by = string.match(v[4], '^[^|]*|(.*)$') or ''
  elseif at > now then
    state = 'scheduled'
  end
  return {id, state, v[1] or '0', tostring(p), fmt(at), fmt(created), v[3], by, lease}
end
