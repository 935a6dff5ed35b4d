-- KEYS: ready, delayed, reserved, wake
-- ARGV: job prefix, unique prefix, state (pending|scheduled|reserved), mode
--       (rows|count|cancel|promote), limit, segment, cursor score ('' for none), cursor id,
--       name ('' for none, else lower case), text (likewise), created at or after ('' for
--       none), created before ('' for none), budget in ms, tag needle ('' for none: the
--       tag as a JSON string, found as is in the body)
-- One queue's jobs of one state, walked by score from the cursor on, in segments: pending
-- is the ready zset (the order workers take jobs in), then the due part of the delayed
-- zset (not promoted yet); scheduled the rest of the delayed zset; reserved the reserved
-- zset. Jobs at the cursor's score with an id not above the cursor's were handled before
-- and are skipped, so a tie of many jobs at one score is read once, never from its start.
-- Jobs are matched by name, text and age when asked (reading their hash), until limit
-- matches are found ('rows': limit + 1, to know a next page exists), the segments end, or
-- the budget is spent. 'cancel' and 'promote' act on the matches after the walk.
-- Returns {state, segment, cursor score, cursor id, count, row...}: state 'end' (nothing
-- after), 'more' (the cursor is the last match taken, or the given cursor when none was)
-- or 'budget' (the cursor is the last job looked at). A row is record()'s.
local jp, up, state, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, seg0, cs, cid = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local name, text, after, before = ARGV[9], ARGV[10], tonumber(ARGV[11]), tonumber(ARGV[12])
local budget = tonumber(ARGV[13])
local needle = ARGV[14]
local CHUNK = 256
local now = now_s()

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local segs
if state == 'pending' then
  segs = {{KEYS[1], '-inf', '+inf'}, {KEYS[2], '-inf', fmt(now)}}
elseif state == 'scheduled' then
  segs = {{KEYS[2], '(' .. fmt(now), '+inf'}}
else
  segs = {{KEYS[3], '-inf', '+inf'}}
end

local need = name ~= '' or text ~= '' or after ~= nil or before ~= nil or needle ~= ''
local function selected(id)
  if not need then return true end
  local v = redis.pcall('HMGET', jp .. id, 'm', 'body')
  if v.err or not v[2] then return false end
  if after ~= nil or before ~= nil then
    local _, _, _, created = meta(v[1])
    if after ~= nil and created < after then return false end
    if before ~= nil and created >= before then return false end
  end
  if name ~= '' then
    local n = string.match(v[2], '"name":"(.-)"') or ''
    if not string.find(string.lower(n), name, 1, true) then return false end
  end
  if needle ~= '' and not string.find(v[2], needle, 1, true) then return false end
  if text ~= '' and not string.find(string.lower(id .. ' ' .. v[2]), text, 1, true) then
    return false
  end
  return true
end

-- Counting without a filter beyond the queue: the zsets' sizes, exact and at once.
if mode == 'count' and not need and cs == '' then
  local n = 0
  for _, s in ipairs(segs) do n = n + redis.call('ZCOUNT', s[1], s[2], s[3]) end
  return {'end', 1, '', '', n}
end

local started = now_ms()
local taken = {}
local n, seen, outcome = 0, 0, 'end'
local at_seg, at_s, at_id = seg0, cs, cid
for si = seg0, #segs do
  local s = segs[si]
  local lo, skip_s = s[2], nil
  if si == seg0 and cs ~= '' then lo, skip_s = cs, tonumber(cs) end
  local off, stop = 0, false
  while not stop do
    local r = redis.call('ZRANGEBYSCORE', s[1], lo, s[3], 'WITHSCORES', 'LIMIT', off, CHUNK)
    if #r == 0 then break end
    off = off + #r / 2
    for i = 1, #r, 2 do
      local id, sc = r[i], r[i + 1]
      if not (skip_s and tonumber(sc) == skip_s and id <= cid) then
        seen = seen + 1
        if selected(id) then
          if mode == 'rows' and n == limit then
            outcome = 'more'
            stop = true
            break
          end
          n = n + 1
          if mode ~= 'count' then taken[#taken + 1] = id end
          at_seg, at_s, at_id = si, sc, id
          if mode ~= 'rows' and mode ~= 'count' and n == limit then
            outcome = 'more'
            stop = true
            break
          end
        end
        if seen % 64 == 0 and now_ms() - started > budget then
          at_seg, at_s, at_id = si, sc, id
          outcome = 'budget'
          stop = true
          break
        end
      end
    end
    if #r < CHUNK * 2 then break end
  end
  if outcome ~= 'end' then break end
end

local out = {outcome, at_seg, at_s, at_id, n}
if mode == 'rows' then
  for _, id in ipairs(taken) do
    local row = record(jp, KEYS[3], id, now)
    if row then out[#out + 1] = row end
  end
elseif mode == 'cancel' then
  local done = 0
  for _, id in ipairs(taken) do
    local k = jp .. id
    local u = redis.pcall('HGET', k, 'u')
    if redis.call('ZREM', KEYS[1], id) + redis.call('ZREM', KEYS[2], id) > 0 then
      if type(u) == 'string' then unlock(up, u, id) end
      redis.call('DEL', k)
      done = done + 1
    end
  end
  out[5] = done
elseif mode == 'promote' then
  local done = 0
  for _, id in ipairs(taken) do
    local k = jp .. id
    local m = redis.pcall('HGET', k, 'm')
    if redis.call('ZREM', KEYS[2], id) == 1 then
      local pr = 0
      if type(m) ~= 'table' then
        pr = select(2, meta(m))
        redis.call('HSET', k, 'm', with_at(m, now))
      end
      redis.call('ZADD', KEYS[1], ready_score(pr, now), id)
      done = done + 1
    end
  end
  if done > 0 then wake(KEYS[4], done) end
  out[5] = done
end
return out
