-- KEYS: reserved
-- ARGV: job prefix, unique prefix, then id, token pairs
-- Returns how many jobs were still held by their token (and are now gone).
local jp, up = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local k = jp .. id
  local v = redis.call('HMGET', k, 'l', 'u')
  if holds(v[1], ARGV[i + 1]) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], id)
    unlock(up, v[2], id)
    n = n + 1
  end
end
return n
