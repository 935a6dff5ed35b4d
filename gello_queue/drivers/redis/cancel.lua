-- KEYS: ready, delayed
-- ARGV: job prefix, unique prefix, id
-- Returns 1 when a pending or scheduled job was deleted (a reserved one is left alone).
local id = ARGV[3]
local k = ARGV[1] .. id
-- Read before the first write: a key that is not a job hash holds no unique key.
local u = redis.pcall('HGET', k, 'u')
if redis.call('ZREM', KEYS[1], id) + redis.call('ZREM', KEYS[2], id) == 0 then return 0 end
if type(u) == 'string' then unlock(ARGV[2], u, id) end
redis.call('DEL', k)
return 1
