-- KEYS: the result, its wake list
-- ARGV: the result's JSON text, its life in ms, the wake token's life in ms
-- Stores the result and leaves one token on the wake list for a waiter's BLPOP. The
-- token outlives the moment, so a waiter that looks a little later is not left asleep.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('RPUSH', KEYS[2], '1')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
