-- KEYS: the restart record (hash: id, count, at, persistent)
-- ARGV: the server's new identity, the count this client knew, the server's start time,
--       1 when the server keeps data on disk
-- Records a restart once however many workers notice it (each one brings the same new
-- identity). A server that keeps nothing loses this record too: the count a worker knew
-- carries it on. Returns {count, at, persistent}.
local v = redis.call('HMGET', KEYS[1], 'id', 'count', 'at', 'persistent')
if v[1] == ARGV[1] then return {tonumber(v[2]) or 1, v[3] or ARGV[3], v[4] or ARGV[4]} end
local count = math.max(tonumber(v[2]) or 0, tonumber(ARGV[2]) or 0) + 1
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'count', count, 'at', ARGV[3], 'persistent', ARGV[4])
return {count, ARGV[3], ARGV[4]}
