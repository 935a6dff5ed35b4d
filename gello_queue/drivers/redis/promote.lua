-- KEYS: ready, delayed, wake
-- ARGV: job prefix, id
-- Returns 1 when a scheduled job (not yet due) was made available now.
local id = ARGV[2]
local now = now_s()
local due = tonumber(redis.call('ZSCORE', KEYS[2], id))
if due == nil or due <= now then return 0 end
local k = ARGV[1] .. id
redis.call('ZREM', KEYS[2], id)
local m = redis.call('HGET', k, 'm')
local _, pr = meta(m)
redis.call('HSET', k, 'm', with_at(m, now))
redis.call('ZADD', KEYS[1], ready_score(pr, now), id)
wake(KEYS[3], 1)
return 1
