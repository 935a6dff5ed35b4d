-- KEYS: failed
-- ARGV: failed prefix, then 'scan', or 'add' followed by id, job name, fingerprint triples
-- 'scan' (once per queue, for failures stored before the indexes existed) puts every
-- failed job without a fingerprint in "todo" and marks the queue scanned; returns how
-- many. 'add' indexes jobs of "todo" (see fx_add; one indexed meanwhile is left as it
-- is) and takes them off it; returns how many were indexed.
local fp = ARGV[1]
local t = fx_tag(fp)
local n = 0
if ARGV[2] == 'scan' then
  local start = 0
  while true do
    local ids = redis.call('ZRANGE', KEYS[1], start, start + 4999)
    for _, id in ipairs(ids) do
      if redis.pcall('HEXISTS', fp .. id, 'fp') == 0 then
        redis.call('SADD', t .. 'todo', id)
        n = n + 1
      end
    end
    if #ids < 5000 then break end
    start = start + 5000
  end
  redis.call('SET', t .. 'v', '1')
  return n
end
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local v = redis.pcall('HMGET', fp .. id, 'exception', 'fp', 'body')
  local at = redis.call('ZSCORE', KEYS[1], id)
  if not v.err and v[3] and not v[2] and at then
    fx_add(fp, id, ARGV[i + 1], v[1] or '', ARGV[i + 2], at)
    n = n + 1
  end
  redis.call('SREM', t .. 'todo', id)
end
return n
