-- KEYS: ready, delayed, reserved
-- ARGV: job prefix, limit, lease seconds, token, worker id
-- Returns {lease expiry, id, attempts, body, ...} best first.
local jp = ARGV[1]
local now = now_s()
local limit = tonumber(ARGV[2])
promote_due(KEYS[1], KEYS[2], jp, now, math.max(limit, 100))
local popped = redis.call('ZPOPMIN', KEYS[1], limit)
local expires = now + tonumber(ARGV[3])
local out = {fmt(expires)}
if #popped == 0 then return out end
local leases = {}
for i = 1, #popped, 2 do
  local id = popped[i]
  local k = jp .. id
  local body = redis.call('HGET', k, 'body')
  if not body then
    -- A member nobody pushed (written by hand, or by another tool): lease it as a
    -- poison message so the worker fails it visibly instead of it vanishing.
    body = id
    redis.call('HSET', k, 'body', id, 'priority', 0, 'available_at', fmt(now),
      'created_at', fmt(now), 'max_attempts', 1)
  end
  local attempts = redis.call('HINCRBY', k, 'attempts', 1)
  redis.call('HSET', k, 'token', ARGV[4], 'reserved_by', ARGV[5])
  leases[#leases + 1] = expires
  leases[#leases + 1] = id
  out[#out + 1] = id
  out[#out + 1] = attempts
  out[#out + 1] = body
end
redis.call('ZADD', KEYS[3], unpack(leases))
return out
