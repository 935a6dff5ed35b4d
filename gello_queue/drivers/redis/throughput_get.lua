-- KEYS: minute index (of throughput, or of timings: the reads are the same)
-- ARGV: bucket key prefix, since (epoch seconds)
-- Returns {minute, {field, value, ...}, ...} from the oldest minute on.
local out = {}
for _, minute in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  out[#out + 1] = minute
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. minute)
end
return out
