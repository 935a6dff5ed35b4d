-- KEYS: minute index of timings
-- ARGV: bucket key prefix, retention seconds, then minute, field, count triples
-- (a field is one JSON [queue, job, series, bucket]); the timings_get read is
-- throughput_get's, on this index and prefix.
local keep = tonumber(ARGV[2])
local minutes = {}
for i = 3, #ARGV, 3 do
  redis.call('HINCRBY', ARGV[1] .. ARGV[i], ARGV[i + 1], ARGV[i + 2])
  minutes[ARGV[i]] = true
end
for minute in pairs(minutes) do
  redis.call('EXPIRE', ARGV[1] .. minute, keep)
  redis.call('ZADD', KEYS[1], minute, minute)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now_s() - keep))
return 1
