-- KEYS: the queue's fingerprint counts (hash fingerprint -> count, see fx_add)
-- ARGV: failed prefix, min score, max score, fingerprint ('' for any), job name part,
--       exception part (lower case, '' for any)
-- Returns per fingerprint the filter keeps {fingerprint, name, exception, the newest
-- failure's message, count, newest failed_at}: one read per group, none per job.
local fp, mins, maxs, want, nsub, esub = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local t = fx_tag(fp)
local ranged = mins ~= '-inf' or maxs ~= '+inf'
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local f = all[i]
  if want == '' or f == want then
    local name = redis.call('HGET', t .. 'name', f) or ''
    local exc = redis.call('HGET', t .. 'exc', f) or ''
    if (nsub == '' or string.find(string.lower(name), nsub, 1, true))
        and (esub == '' or string.find(string.lower(exc), esub, 1, true)) then
      local z = t .. 'f:' .. f
      local n = tonumber(all[i + 1])
      if ranged then n = redis.call('ZCOUNT', z, mins, maxs) end
      if n > 0 then
        local top = redis.call('ZREVRANGEBYSCORE', z, maxs, mins, 'WITHSCORES', 'LIMIT', 0, 1)
        if top[1] then
          local msg = redis.pcall('HGET', fp .. top[1], 'message')
          out[#out + 1] = {f, name, exc, type(msg) == 'string' and msg or '', n, top[2]}
        end
      end
    end
  end
end
return out
