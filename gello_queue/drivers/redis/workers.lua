-- KEYS: worker index
-- ARGV: worker key prefix
-- Returns {id, record json, last seen, ...} for live workers; forgets expired ones.
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local rec = redis.call('GET', ARGV[1] .. ids[i])
  if rec then
    out[#out + 1] = ids[i]
    out[#out + 1] = rec
    out[#out + 1] = ids[i + 1]
  else
    redis.call('ZREM', KEYS[1], ids[i])
  end
end
return out
