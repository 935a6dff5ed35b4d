-- KEYS: ready, reserved, failed, wake
-- ARGV: job prefix, failed prefix, unique prefix, queue, reason, batch size
-- Returns {{requeued id, ...}, {failed id, ...}} for leases that expired by server time.
local jp, fp, up = ARGV[1], ARGV[2], ARGV[3]
local now = now_s()
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
local requeued, failed = {}, {}
for _, id in ipairs(expired) do
  local k = jp .. id
  local v = redis.call('HMGET', k, 'n', 'm', 'body', 'u')
  redis.call('ZREM', KEYS[2], id)
  if v[3] then
    local _, pr, max = meta(v[2])
    if (tonumber(v[1]) or 0) >= max then
      redis.call('DEL', k)
      unlock(up, v[4], id)
      to_failed(fp, KEYS[3], id, ARGV[4], v[3], 'WorkerLost', ARGV[5], '', v[1] or 0, now)
      failed[#failed + 1] = id
    else
      redis.call('HDEL', k, 'l')
      redis.call('HSET', k, 'm', with_at(v[2], now))
      redis.call('ZADD', KEYS[1], ready_score(pr, now), id)
      requeued[#requeued + 1] = id
    end
  end
end
wake(KEYS[4], #requeued)
return {requeued, failed}
