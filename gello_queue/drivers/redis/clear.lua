-- KEYS: ready, delayed
-- ARGV: job prefix, unique prefix, batch size
-- Deletes up to a batch of pending and scheduled jobs; returns how many.
local jp, up, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = 0
for _, key in ipairs(KEYS) do
  if n >= batch then break end
  local ids = redis.call('ZRANGE', key, 0, batch - n - 1)
  -- Read before the first write: a key that is not a job hash holds no unique key.
  local held = {}
  for i, id in ipairs(ids) do
    local u = redis.pcall('HGET', jp .. id, 'u')
    held[i] = type(u) == 'string' and u
  end
  for i, id in ipairs(ids) do
    unlock(up, held[i], id)
    redis.call('DEL', jp .. id)
  end
  if #ids > 0 then redis.call('ZREMRANGEBYRANK', key, 0, #ids - 1) end
  n = n + #ids
end
return n
