-- KEYS: ready, delayed, wake
-- ARGV: job prefix, unique prefix, job count, then per job: id, body, m (see prelude),
--       then (1-based index, field, value) triples for the rarer fields: u (unique key)
--       and n (attempts already made). Few arguments and fields per job: both are the
--       cost of a bulk push.
-- Returns {index (0-based), holder id, ...} for jobs whose unique key was already held.
local jp, up, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_s()
local extra = {}
for i = 4 + 3 * count, #ARGV, 3 do
  local j = tonumber(ARGV[i])
  extra[j] = extra[j] or {}
  extra[j][ARGV[i + 1]] = ARGV[i + 2]
end
local ready_args, delayed_args, held = {}, {}, {}
for j = 1, count do
  local i = 1 + 3 * j
  local id, m = ARGV[i], ARGV[i + 2]
  local x = extra[j]
  local ukey = x and x.u
  local holder = nil
  if ukey then
    local cur = redis.call('GET', up .. ukey)
    if cur and redis.call('EXISTS', jp .. cur) == 1 then
      holder = cur
    else
      redis.call('SET', up .. ukey, id)
    end
  end
  if holder then
    held[#held + 1] = j - 1
    held[#held + 1] = holder
  else
    local k = jp .. id
    redis.call('HSET', k, 'body', ARGV[i + 1], 'm', m)
    if x then
      if ukey then redis.call('HSET', k, 'u', ukey) end
      if x.n then redis.call('HSET', k, 'n', x.n) end
    end
    local at, pr = meta(m)
    if at > now then
      delayed_args[#delayed_args + 1] = at
      delayed_args[#delayed_args + 1] = id
    else
      ready_args[#ready_args + 1] = ready_score(pr, at)
      ready_args[#ready_args + 1] = id
    end
  end
  -- unpack() is bounded by Lua's C stack: flush big batches as they grow.
  if #ready_args >= 4000 then
    redis.call('ZADD', KEYS[1], unpack(ready_args))
    wake(KEYS[3], #ready_args / 2)
    ready_args = {}
  end
  if #delayed_args >= 4000 then
    redis.call('ZADD', KEYS[2], unpack(delayed_args))
    delayed_args = {}
  end
end
if #ready_args > 0 then
  redis.call('ZADD', KEYS[1], unpack(ready_args))
  wake(KEYS[3], #ready_args / 2)
end
if #delayed_args > 0 then redis.call('ZADD', KEYS[2], unpack(delayed_args)) end
return held
