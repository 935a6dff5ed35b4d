-- KEYS: minute index
-- ARGV: bucket key prefix, minute, retention seconds, then queue, processed, failed triples
local key = ARGV[1] .. ARGV[2]
for i = 4, #ARGV, 3 do
  redis.call('HINCRBY', key, 'p:' .. ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', key, 'f:' .. ARGV[i], ARGV[i + 2])
end
local keep = tonumber(ARGV[3])
redis.call('EXPIRE', key, keep)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now_s() - keep))
return 1
