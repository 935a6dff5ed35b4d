-- KEYS: failed
-- ARGV: failed prefix, mode ('ids' then ids | 'before' then epoch and batch | 'all' then batch)
-- Returns how many failed jobs were deleted.
local fp, mode = ARGV[1], ARGV[2]
local ids
if mode == 'ids' then
  ids = {}
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
elseif mode == 'before' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
else
  ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    fx_del(fp, id)
    redis.call('DEL', fp .. id)
    n = n + 1
  end
end
return n
