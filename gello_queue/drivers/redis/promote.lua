-- KEYS: ready, delayed, wake
-- ARGV: job prefix, id
-- Returns 1 when a scheduled job (not yet due) was made available now.
local id = ARGV[2]
local now = now_s()
local due = tonumber(redis.call('ZSCORE', KEYS[2], id))
if due == nil or due <= now then return 0 end
local k = ARGV[1] .. id
-- Read before the first write: a key that is not a job hash moves to ready as it is,
-- and reserve sends it to the failed store (see malformed()).
local m = redis.pcall('HGET', k, 'm')
redis.call('ZREM', KEYS[2], id)
local pr = 0
if type(m) ~= 'table' then
  pr = select(2, meta(m))
  redis.call('HSET', k, 'm', with_at(m, now))
end
redis.call('ZADD', KEYS[1], ready_score(pr, now), id)
wake(KEYS[3], 1)
return 1
