-- KEYS: ready, reserved, failed, wake
-- ARGV: job prefix, failed prefix, unique prefix, queue, reason, batch size
-- Returns {{requeued id, ...}, {failed id, ...}} for leases that expired by server time.
local jp, fp, up = ARGV[1], ARGV[2], ARGV[3]
local now = now_s()
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
local requeued, failed = {}, {}
for _, id in ipairs(expired) do
  local k = jp .. id
  local v = redis.call('HMGET', k, 'attempts', 'max_attempts', 'priority', 'body', 'unique_key')
  redis.call('ZREM', KEYS[2], id)
  if v[4] then
    if (tonumber(v[1]) or 0) >= (tonumber(v[2]) or 1) then
      redis.call('DEL', k)
      unlock(up, v[5], id)
      to_failed(fp, KEYS[3], id, ARGV[4], v[4], 'WorkerLost', ARGV[5], '', v[1] or 0, now)
      failed[#failed + 1] = id
    else
      redis.call('HDEL', k, 'token', 'reserved_by')
      redis.call('HSET', k, 'available_at', fmt(now))
      redis.call('ZADD', KEYS[1], ready_score(v[3], now), id)
      requeued[#requeued + 1] = id
    end
  end
end
wake(KEYS[4], #requeued)
return {requeued, failed}
