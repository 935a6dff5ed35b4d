-- KEYS: ready, delayed, reserved, failed
-- ARGV: job prefix
-- Returns {pending, scheduled, reserved, failed, oldest pending available_at or ''}.
local jp = ARGV[1]
local now = now_s()
local ready = redis.call('ZCARD', KEYS[1])
local due = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local later = redis.call('ZCARD', KEYS[2]) - due
local oldest = nil
if ready > 0 then
  -- The head of each priority band is that band's oldest job.
  for band = 0, 20 do
    local head = redis.call('ZRANGEBYSCORE', KEYS[1], band * BAND, '(' .. ((band + 1) * BAND),
      'LIMIT', 0, 1)
    if head[1] then
      -- A key another tool overwrote reads as an error table: no known age.
      local m = redis.pcall('HGET', jp .. head[1], 'm')
      local at = meta(type(m) == 'string' and m)
      if oldest == nil or at < oldest then oldest = at end
    end
  end
end
if due > 0 then
  local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local at = tonumber(head[2])
  if oldest == nil or at < oldest then oldest = at end
end
return {ready + due, later, redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  oldest and fmt(oldest) or ''}
