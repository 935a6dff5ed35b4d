-- KEYS: failed
-- ARGV: failed prefix, queue, then per job: id, body, exception, message, traceback,
--       failed_at, attempts, job name, fingerprint
-- Stores failed jobs exported from another backend as they were, indexed (see
-- fx_add); an id already in this queue's failed store is left alone. Returns how many
-- were stored.
local fp, queue = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV, 9 do
  local id = ARGV[i]
  if not redis.call('ZSCORE', KEYS[1], id) then
    local k = fp .. id
    fx_del(fp, id)
    redis.call('DEL', k)
    redis.call('HSET', k, 'queue', queue, 'body', ARGV[i + 1], 'exception', ARGV[i + 2],
      'message', ARGV[i + 3], 'traceback', ARGV[i + 4], 'failed_at', ARGV[i + 5],
      'attempts', ARGV[i + 6])
    redis.call('ZADD', KEYS[1], ARGV[i + 5], id)
    fx_add(fp, id, ARGV[i + 7], ARGV[i + 2], ARGV[i + 8], ARGV[i + 5])
    n = n + 1
  end
end
return n
