-- KEYS: the lock
-- ARGV: owner
-- Returns 1 when the owner held the lock and it is now free, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
