-- KEYS: failed
-- ARGV: failed prefix, start, stop (ranks, newest first) or 'id' followed by ids
-- Returns {id, queue, body, exception, message, traceback, failed_at, attempts} records.
local fp = ARGV[1]
local ids
if ARGV[2] == 'id' then
  ids = {}
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZREVRANGE', KEYS[1], ARGV[2], ARGV[3])
end
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', fp .. id, 'queue', 'body', 'exception', 'message', 'traceback',
    'failed_at', 'attempts')
  if v[2] then
    out[#out + 1] = {id, v[1], v[2], v[3] or '', v[4] or '', v[5] or '', v[6] or '0', v[7] or '0'}
  end
end
return out
