-- KEYS: reserved
-- ARGV: job prefix, unique prefix, then id, token pairs
-- Returns the ids whose token no longer held the lease (usually none); the others are gone.
local jp, up = ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local k = jp .. id
  -- pcall: a key overwritten by another tool must not abort the acks after it (Redis
  -- keeps the ones before); it counts as a lost lease, and rescue fails it.
  local v = redis.pcall('HMGET', k, 'l', 'u')
  if not v.err and holds(v[1], ARGV[i + 1]) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], id)
    unlock(up, v[2], id)
  else
    lost[#lost + 1] = id
  end
end
return lost
