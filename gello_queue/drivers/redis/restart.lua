-- KEYS: restart key
-- Stamps the restart signal with server time and returns it.
local at = fmt(now_s())
redis.call('SET', KEYS[1], at)
return at
