-- KEYS: the lock
-- ARGV: owner, life in ms
-- Returns 1 when the lock was free or already the owner's (its life is renewed), else 0.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
