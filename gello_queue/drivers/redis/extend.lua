-- KEYS: reserved
-- ARGV: job prefix, lease seconds, then id, token pairs
-- Returns {lease expiry, lost id, ...}.
local jp = ARGV[1]
local expires = now_s() + tonumber(ARGV[2])
local out = {fmt(expires)}
for i = 3, #ARGV, 2 do
  -- A key another tool overwrote (not a hash: a read error) holds no lease.
  local l = redis.pcall('HGET', jp .. ARGV[i], 'l')
  if type(l) == 'string' and holds(l, ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i])
  else
    out[#out + 1] = ARGV[i]
  end
end
return out
