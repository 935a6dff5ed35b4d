-- KEYS: ready, delayed, wake
-- ARGV: job prefix, unique prefix, then per job: id, body, priority, available_at,
--       created_at, attempts, max_attempts, unique_key ('' for none)
-- Returns {index, holder id, ...} for envelopes whose unique key was already held.
local jp, up = ARGV[1], ARGV[2]
local now = now_s()
local ready_args, delayed_args, held = {}, {}, {}
for i = 3, #ARGV, 8 do
  local id, ukey = ARGV[i], ARGV[i + 7]
  local holder = nil
  if ukey ~= '' then
    local cur = redis.call('GET', up .. ukey)
    if cur and redis.call('EXISTS', jp .. cur) == 1 then
      holder = cur
    else
      redis.call('SET', up .. ukey, id)
    end
  end
  if holder then
    held[#held + 1] = (i - 3) / 8
    held[#held + 1] = holder
  else
    local k = jp .. id
    redis.call('HSET', k, 'body', ARGV[i + 1], 'priority', ARGV[i + 2],
      'available_at', ARGV[i + 3], 'created_at', ARGV[i + 4], 'attempts', ARGV[i + 5],
      'max_attempts', ARGV[i + 6])
    if ukey ~= '' then redis.call('HSET', k, 'unique_key', ukey) end
    local at = tonumber(ARGV[i + 3])
    if at > now then
      delayed_args[#delayed_args + 1] = at
      delayed_args[#delayed_args + 1] = id
    else
      ready_args[#ready_args + 1] = ready_score(ARGV[i + 2], at)
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
