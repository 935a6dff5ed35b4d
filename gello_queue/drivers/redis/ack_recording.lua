-- KEYS: reserved, done, done:m (the monitored records)
-- ARGV: job prefix, unique prefix, keep, n (how many id, token pairs follow), the pairs,
--       then finished_at, id, record, monitored ("1" or "0") of the completed jobs to keep
-- The ack script's work, and in the same call the completed jobs whose ack was accepted
-- (or that name no reservation: a broker's) kept in the queue's history, trimmed to its
-- newest `keep`; a monitored one goes to done:m instead, which no count trims (retention
-- prunes it by age). Returns the ids whose token no longer held the lease.
local jp, up, keep, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local lost, refused = {}, {}
for i = 5, 4 + n, 2 do
  local id = ARGV[i]
  local k = jp .. id
  -- pcall: as in ack.lua, a key overwritten by another tool counts as a lost lease.
  local v = redis.pcall('HMGET', k, 'l', 'u')
  if not v.err and holds(v[1], ARGV[i + 1]) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], id)
    unlock(up, v[2], id)
  else
    lost[#lost + 1] = id
    refused[id] = true
  end
end
-- One ZADD per 500 records: unpack() is bounded by Lua's C stack.
local kept, added = {}, 0
for i = 5 + n, #ARGV, 4 do
  if refused[ARGV[i + 1]] then
    -- its ack was refused: nothing to keep
  elseif ARGV[i + 3] == '1' then
    redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 2])
  else
    kept[#kept + 1] = ARGV[i]
    kept[#kept + 1] = ARGV[i + 2]
    if #kept == 1000 then
      redis.call('ZADD', KEYS[2], unpack(kept))
      added, kept = added + 500, {}
    end
  end
end
if #kept > 0 then
  redis.call('ZADD', KEYS[2], unpack(kept))
  added = added + #kept / 2
end
if added > 0 and keep > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -keep - 1)
end
return lost
