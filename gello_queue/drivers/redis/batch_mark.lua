-- KEYS: the batch hash, its marks hash (job id -> p or f)
-- ARGV: job id, 1 when the job failed
-- Once per job: a new mark adds to processed or failed, a failed job that succeeds later
-- moves to processed. Returns the batch's fields (HGETALL form), or false when it is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local failed = ARGV[2] == '1'
local prev = redis.call('HGET', KEYS[2], ARGV[1])
if not prev then
  redis.call('HSET', KEYS[2], ARGV[1], failed and 'f' or 'p')
  redis.call('HINCRBY', KEYS[1], failed and 'failed' or 'processed', 1)
elseif prev == 'f' and not failed then
  redis.call('HSET', KEYS[2], ARGV[1], 'p')
  redis.call('HINCRBY', KEYS[1], 'failed', -1)
  redis.call('HINCRBY', KEYS[1], 'processed', 1)
end
local v = redis.call('HMGET', KEYS[1], 'total', 'processed', 'failed', 'finished_at')
if not v[4] and tonumber(v[2]) + tonumber(v[3]) >= tonumber(v[1]) then
  redis.call('HSET', KEYS[1], 'finished_at', fmt(now_s()))
end
return redis.call('HGETALL', KEYS[1])
