-- KEYS: ready, delayed, reserved, wake
-- ARGV: job prefix, limit, lease seconds, token, worker id
-- Returns {lease expiry, id, attempts, body, ...} best first.
local jp = ARGV[1]
local now = now_s()
local limit = tonumber(ARGV[2])
promote_due(KEYS[1], KEYS[2], jp, now, math.max(limit, 100))
local popped = redis.call('ZPOPMIN', KEYS[1], limit)
if redis.call('ZCARD', KEYS[1]) == 0 then
  -- Nothing left to run: tokens would only wake a waiter to find nothing.
  redis.call('DEL', KEYS[4])
end
local expires = now + tonumber(ARGV[3])
local out = {fmt(expires)}
if #popped == 0 then return out end
local lease = ARGV[4] .. '|' .. ARGV[5]
local leases = {}
for i = 1, #popped, 2 do
  local id = popped[i]
  local k = jp .. id
  local body = redis.call('HGET', k, 'body')
  if not body then
    -- A member nobody pushed (written by hand, or by another tool): lease it as a
    -- poison message so the worker fails it visibly instead of it vanishing.
    body = id
    redis.call('HSET', k, 'body', id, 'm', fmt(now) .. '|0|1|' .. fmt(now))
  end
  local attempts = redis.call('HINCRBY', k, 'n', 1)
  redis.call('HSET', k, 'l', lease)
  leases[#leases + 1] = expires
  leases[#leases + 1] = id
  out[#out + 1] = id
  out[#out + 1] = attempts
  out[#out + 1] = body
end
redis.call('ZADD', KEYS[3], unpack(leases))
return out
