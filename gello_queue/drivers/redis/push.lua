-- KEYS: ready, delayed, wake, and on standalone Redis the set of known queues (a
--       cluster registers the queue from the client instead: that set is in another slot)
-- ARGV: job prefix, unique prefix, queue, job count, then per job: id, body, m (prelude),
--       then (1-based index, field, value) triples for the rarer fields: u (unique key),
--       um (its mode: processing or debounce), ut (its lock's life in ms) and n
--       (attempts already made). Few arguments and fields per job: both are the
--       cost of a bulk push.
-- Returns {index (0-based), holder id, ...} for jobs whose unique key was already held.
local jp, up, count = ARGV[1], ARGV[2], tonumber(ARGV[4])
local now = now_s()
if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[3]) end
local extra = {}
for i = 5 + 3 * count, #ARGV, 3 do
  local j = tonumber(ARGV[i])
  extra[j] = extra[j] or {}
  extra[j][ARGV[i + 1]] = ARGV[i + 2]
end
local ready_args, delayed_args, held = {}, {}, {}
local nr, nd = 0, 0
local function flush()
  if nr > 0 then
    redis.call('ZADD', KEYS[1], unpack(ready_args, 1, nr))
    wake(KEYS[3], nr / 2)
    nr = 0
  end
  if nd > 0 then
    redis.call('ZADD', KEYS[2], unpack(delayed_args, 1, nd))
    nd = 0
  end
end
for j = 1, count do
  local i = 2 + 3 * j
  local id, m = ARGV[i], ARGV[i + 2]
  local x = extra[j]
  local ukey = x and x.u
  local holder = nil
  if ukey then
    -- Keys another tool overwrote read as error tables (see malformed()): a lock that
    -- is not a string holds nothing, a holder that is not a hash has not started.
    -- What happens to the holder mirrors gello_queue.core.unique.unique_outcome (held to
    -- it by the contract suite): supersede, take (HDEL u) or fold. A lock that outlived
    -- its unique_for is gone (PX) before it is read, so an expired holder is taken from.
    local cur = redis.pcall('GET', up .. ukey)
    if type(cur) == 'string' and redis.call('EXISTS', jp .. cur) == 1 then
      local mode = x.um
      local started = redis.pcall('HEXISTS', jp .. cur, 'l') == 1
      if mode == 'debounce' and not started then
        -- The superseded job never runs: it leaves every structure before ours lands.
        flush()
        redis.call('ZREM', KEYS[1], cur)
        redis.call('ZREM', KEYS[2], cur)
        redis.call('DEL', jp .. cur)
      elseif mode == 'debounce' or (mode == 'processing' and started) then
        redis.call('HDEL', jp .. cur, 'u')
      else
        holder = cur
      end
    end
    if not holder then
      if x.ut then
        redis.call('SET', up .. ukey, id, 'PX', x.ut)
      else
        redis.call('SET', up .. ukey, id)
      end
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
    -- Only the two leading facts matter here: one anchored match, no table.
    local at_s, pr_s = string.match(m, '^([^|]*)|([^|]*)')
    local at = tonumber(at_s) or 0
    if at > now then
      delayed_args[nd + 1] = at
      delayed_args[nd + 2] = id
      nd = nd + 2
    else
      ready_args[nr + 1] = ready_score(pr_s, at)
      ready_args[nr + 2] = id
      nr = nr + 2
    end
  end
  -- unpack() is bounded by Lua's C stack: flush big batches as they grow.
  if nr >= 4000 then
    redis.call('ZADD', KEYS[1], unpack(ready_args, 1, nr))
    wake(KEYS[3], nr / 2)
    nr = 0
  end
  if nd >= 4000 then
    redis.call('ZADD', KEYS[2], unpack(delayed_args, 1, nd))
    nd = 0
  end
end
if nr > 0 then
  redis.call('ZADD', KEYS[1], unpack(ready_args, 1, nr))
  wake(KEYS[3], nr / 2)
end
if nd > 0 then redis.call('ZADD', KEYS[2], unpack(delayed_args, 1, nd)) end
return held
