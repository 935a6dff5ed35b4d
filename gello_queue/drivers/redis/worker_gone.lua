-- KEYS: worker key, worker index
-- ARGV: worker id
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
