-- KEYS: the batch hash
-- ARGV: 1 to cancel, 0 to undo a cancel
-- Returns 1 when the batch exists, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' then
  redis.call('HSETNX', KEYS[1], 'cancelled_at', fmt(now_s()))
else
  redis.call('HDEL', KEYS[1], 'cancelled_at')
end
return 1
