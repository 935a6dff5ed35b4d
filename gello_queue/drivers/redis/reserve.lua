-- KEYS: ready, delayed, reserved, wake, failed
-- ARGV: job prefix, limit, lease seconds, token, worker id, failed prefix, unique prefix,
--       queue
-- Returns {lease expiry, {malformed id, reason, ...}, id, attempts, body, ...} best first;
-- malformed jobs (see malformed()) went to the failed store instead of being leased.
local jp = ARGV[1]
local now = now_s()
local limit = tonumber(ARGV[2])
promote_due(KEYS[1], KEYS[2], jp, now, math.max(limit, 100))
local expires = now + tonumber(ARGV[3])
local out = {fmt(expires), {}}
local ids = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
if #ids == 0 then
  -- Nothing left to run: tokens would only wake a waiter to find nothing.
  redis.call('DEL', KEYS[4])
  return out
end
-- Every job is read and judged before the first write (see malformed()).
local good, bad = {}, {}
local leases = {}
for _, id in ipairs(ids) do
  local k = jp .. id
  local v = redis.pcall('HMGET', k, 'body', 'n')
  local reason = malformed(k, v)
  if reason then
    bad[#bad + 1] = id
    bad[#bad + 1] = reason
  else
    good[#good + 1] = {id, v[1], attempts_of(v[2]) + 1}
    leases[#leases + 1] = expires
    leases[#leases + 1] = id
  end
end
if #leases > 0 then redis.call('ZADD', KEYS[3], unpack(leases)) end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1)
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[4]) end
local lease = ARGV[4] .. '|' .. ARGV[5]
for _, job in ipairs(good) do
  local id, body, attempts = job[1], job[2], job[3]
  local k = jp .. id
  if body then
    redis.call('HSET', k, 'n', attempts, 'l', lease)
  else
    -- A member nobody pushed (written by hand, or by another tool): lease it as a
    -- poison message so the worker fails it visibly instead of it vanishing.
    body = id
    redis.call('HSET', k, 'body', id, 'm', fmt(now) .. '|0|1|' .. fmt(now), 'n', attempts,
      'l', lease)
  end
  out[#out + 1] = id
  out[#out + 1] = attempts
  out[#out + 1] = body
end
for i = 1, #bad, 2 do
  quarantine(jp, ARGV[6], KEYS[5], ARGV[7], ARGV[8], bad[i], bad[i + 1], now)
end
out[2] = bad
return out
