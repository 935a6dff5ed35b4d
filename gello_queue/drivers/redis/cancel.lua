-- KEYS: ready, delayed
-- ARGV: job prefix, unique prefix, id
-- Returns 1 when a pending or scheduled job was deleted (a reserved one is left alone).
local id = ARGV[3]
if redis.call('ZREM', KEYS[1], id) + redis.call('ZREM', KEYS[2], id) == 0 then return 0 end
local k = ARGV[1] .. id
unlock(ARGV[2], redis.call('HGET', k, 'u'), id)
redis.call('DEL', k)
return 1
