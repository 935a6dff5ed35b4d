-- KEYS: ready, delayed, reserved, wake
-- ARGV: job prefix, id, token, attempts, body, delay seconds
-- Returns 1 when the lease was held and the job is back in ready or delayed, else 0.
local k = ARGV[1] .. ARGV[2]
-- A key another tool overwrote no longer holds the lease: rescue fails it when the
-- lease runs out (see malformed()).
local v = redis.pcall('HMGET', k, 'l', 'm')
if v.err or not holds(v[1], ARGV[3]) then return 0 end
local now = now_s()
local delay = tonumber(ARGV[6])
local at = now + math.max(delay, 0)
local _, pr = meta(v[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('HDEL', k, 'l')
redis.call('HSET', k, 'n', ARGV[4], 'body', ARGV[5], 'm', with_at(v[2], at))
if delay > 0 then
  redis.call('ZADD', KEYS[2], at, ARGV[2])
else
  redis.call('ZADD', KEYS[1], ready_score(pr, at), ARGV[2])
  wake(KEYS[4], 1)
end
return 1
