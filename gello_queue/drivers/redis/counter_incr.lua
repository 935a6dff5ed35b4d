-- KEYS: the counter
-- ARGV: amount, life in ms
-- Returns the new value; a new counter lives for the given time (a fixed window).
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
