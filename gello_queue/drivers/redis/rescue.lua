-- KEYS: ready, reserved, failed, wake
-- ARGV: job prefix, failed prefix, unique prefix, queue, reason, batch size
-- Returns {{requeued id, ...}, {failed id, ...}, {id, worker id, ...}} for leases that
-- expired by server time; the third names the worker each lease was given to.
local jp, fp, up = ARGV[1], ARGV[2], ARGV[3]
local now = now_s()
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
-- Every job is read and judged before the first write (see malformed()).
local jobs = {}
for i, id in ipairs(expired) do
  local k = jp .. id
  local v = redis.pcall('HMGET', k, 'body', 'n', 'm', 'u', 'l')
  jobs[i] = {id, v, malformed(k, v)}
end
local requeued, failed, holders = {}, {}, {}
for _, job in ipairs(jobs) do
  local id, v, reason = job[1], job[2], job[3]
  local k = jp .. id
  -- A lease is 'token|worker id' (see reserve.lua).
  local holder = not v.err and v[5] and string.match(v[5], '|(.*)$')
  if holder and holder ~= '' then
    holders[#holders + 1] = id
    holders[#holders + 1] = holder
  end
  redis.call('ZREM', KEYS[2], id)
  if reason then
    quarantine(jp, fp, KEYS[3], up, ARGV[4], id, reason, now)
    failed[#failed + 1] = id
  elseif v[1] then
    local _, pr, max = meta(v[3])
    -- Mirrors gello_queue.core.rescue.rescue_fails (held to it by the contract suite):
    -- the dead worker's run used the last attempt.
    if attempts_of(v[2]) >= max then
      redis.call('DEL', k)
      unlock(up, v[4], id)
      to_failed(fp, KEYS[3], id, ARGV[4], v[1], 'WorkerLost', ARGV[5], '', v[2], now)
      failed[#failed + 1] = id
    else
      redis.call('HDEL', k, 'l')
      redis.call('HSET', k, 'm', with_at(v[3], now))
      redis.call('ZADD', KEYS[1], ready_score(pr, now), id)
      requeued[#requeued + 1] = id
    end
  end
end
wake(KEYS[4], #requeued)
return {requeued, failed, holders}
