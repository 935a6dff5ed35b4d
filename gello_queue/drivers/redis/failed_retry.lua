-- KEYS: ready, failed, wake
-- ARGV: job prefix, failed prefix, then per job: id, body, priority, max_attempts, created_at
-- Moves failed jobs back to ready as fresh attempts; returns how many were still failed.
-- The job is the one gello_queue.core.failed_retry.rebuild_retried built (held to it by
-- the contract suite); its "due now, no attempts" is written here by the script's clock.
local jp, fp = ARGV[1], ARGV[2]
local now = now_s()
local n = 0
for i = 3, #ARGV, 5 do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[2], id) == 1 then
    fx_del(fp, id)
    redis.call('DEL', fp .. id)
    local k = jp .. id
    redis.call('DEL', k)
    local m = fmt(now) .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3] .. '|' .. ARGV[i + 4]
    redis.call('HSET', k, 'body', ARGV[i + 1], 'm', m)
    redis.call('ZADD', KEYS[1], ready_score(ARGV[i + 2], now), id)
    n = n + 1
  end
end
wake(KEYS[3], n)
return n
