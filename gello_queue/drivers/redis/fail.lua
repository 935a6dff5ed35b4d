-- KEYS: reserved, failed
-- ARGV: job prefix, failed prefix, unique prefix, queue, id, token, body, exception,
--       message, traceback, job name, fingerprint
-- Returns 1 when the lease was held and the job is now in the failed store, else 0.
local id = ARGV[5]
local k = ARGV[1] .. id
-- A key another tool overwrote no longer holds the lease: rescue fails it when the
-- lease runs out (see malformed()).
local v = redis.pcall('HMGET', k, 'l', 'n', 'u')
if v.err or not holds(v[1], ARGV[6]) then return 0 end
redis.call('DEL', k)
redis.call('ZREM', KEYS[1], id)
unlock(ARGV[3], v[3], id)
to_failed(ARGV[2], KEYS[2], id, ARGV[4], ARGV[7], ARGV[8], ARGV[9], ARGV[10], v[2], now_s(),
  ARGV[11], ARGV[12])
return 1
