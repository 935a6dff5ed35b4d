-- KEYS: worker key, worker index, the command left for the worker
-- ARGV: worker id
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
