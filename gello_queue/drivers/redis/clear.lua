-- KEYS: ready, delayed
-- ARGV: job prefix, unique prefix, batch size
-- Deletes up to a batch of pending and scheduled jobs; returns how many.
local jp, up, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = 0
for _, key in ipairs(KEYS) do
  if n >= batch then break end
  local ids = redis.call('ZRANGE', key, 0, batch - n - 1)
  for _, id in ipairs(ids) do
    local k = jp .. id
    unlock(up, redis.call('HGET', k, 'u'), id)
    redis.call('DEL', k)
  end
  if #ids > 0 then redis.call('ZREMRANGEBYRANK', key, 0, #ids - 1) end
  n = n + #ids
end
return n
