-- KEYS: the batch hash
-- ARGV: name, total, options
-- Creates the batch, or adds to the total of an existing one. Returns its created_at.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'total', ARGV[2])
  return redis.call('HGET', KEYS[1], 'created_at')
end
local now = fmt(now_s())
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'total', ARGV[2], 'processed', 0, 'failed', 0,
  'created_at', now, 'options', ARGV[3])
return now
