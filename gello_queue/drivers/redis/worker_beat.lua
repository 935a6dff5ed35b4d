-- KEYS: worker key, worker index
-- ARGV: worker id, record json, ttl milliseconds
-- The key's TTL forgets a dead worker; the index score is its last beat (server time).
local now = now_s()
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return fmt(now)
