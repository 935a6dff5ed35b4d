-- KEYS: failed
-- ARGV: failed prefix, limit, max score, min score (ZRANGEBYSCORE syntax), cursor score
--       ('' for none), cursor id, text ('' for none, else lower case), budget in ms,
--       'rows' or 'ids', tag needle ('' for none: the tag as a JSON string, found as is
--       in the body), then the zsets to walk: the queue's failed zset, or the zsets
--       of the fingerprints the filter picked (see fx_add)
-- Walks the zsets merged, newest first (failed_at, then id, descending), from the
-- cursor on, keeping the jobs whose text matches, until limit + 1 are found, the zsets
-- end or the budget is spent. Jobs at the cursor's score with an id not below the
-- cursor's were on an earlier page and are skipped.
-- Returns {state, cursor score, cursor id, row...}: state 'end' (nothing after), 'more'
-- (the cursor is the last row's) or 'budget' (the cursor is the last job looked at). A
-- row is {id, score} or, for 'rows', {id, score, queue, body, exception, message,
-- traceback, attempts, job name ('' before it is indexed)}.
local fp, limit = ARGV[1], tonumber(ARGV[2])
local maxs, mins, cs, cid = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local csn = cs ~= '' and tonumber(cs) or nil
local text, budget, full = ARGV[7], tonumber(ARGV[8]), ARGV[9] == 'rows'
local needle = ARGV[10]
local CHUNK = 256

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local srcs = {}
for i = 11, #ARGV do srcs[#srcs + 1] = {key = ARGV[i], off = 0, buf = {}, pos = 1} end

local function head(s)
  if s.pos > #s.buf then
    if s.last then return nil end
    local r = redis.call('ZREVRANGEBYSCORE', s.key, maxs, mins, 'WITHSCORES', 'LIMIT', s.off,
      CHUNK)
    s.off, s.buf, s.pos = s.off + #r / 2, r, 1
    if #r < CHUNK * 2 then s.last = true end
    if #r == 0 then return nil end
  end
  return s.buf[s.pos], s.buf[s.pos + 1]
end

local started = now_ms()
local kept, seen, state = {}, 0, 'end'
local last_s, last_id
while true do
  local best, bid, bn, bs
  for _, s in ipairs(srcs) do
    local id, sc = head(s)
    if id then
      local n = tonumber(sc)
      if not best or n > bn or (n == bn and id > bid) then best, bid, bn, bs = s, id, n, sc end
    end
  end
  if not best then break end
  best.pos = best.pos + 2
  if not (csn and bn == csn and bid >= cid) then
    local ok, v = true, nil
    if full then
      v = redis.pcall('HMGET', fp .. bid, 'queue', 'body', 'exception', 'message', 'traceback',
        'attempts', 'name')
    elseif text ~= '' or needle ~= '' then
      -- A count or an id page reads only the searched fields: a traceback is often the
      -- largest field, and copying it for every job made free-text counts slow.
      v = redis.pcall('HMGET', fp .. bid, 'name', 'body', 'exception', 'message')
      if not v.err then v[7] = v[1] end
    end
    if v and (v.err or not v[2]) then
      ok = false
    elseif needle ~= '' and not string.find(v[2], needle, 1, true) then
      ok = false
    elseif text ~= '' then
      -- One haystack, as every driver searches (FailedQuery.matches): id, name,
      -- exception, message and body, separated by spaces.
      local hay = string.lower(bid .. ' ' .. (v[7] or '') .. ' ' .. (v[3] or '') .. ' '
        .. (v[4] or '') .. ' ' .. (v[2] or ''))
      ok = string.find(hay, text, 1, true) ~= nil
    end
    if ok then
      if #kept == limit then
        state = 'more'
        break
      end
      if full then
        kept[#kept + 1] = {bid, bs, v[1], v[2], v[3] or '', v[4] or '', v[5] or '', v[6] or '0',
          v[7] or ''}
      else
        kept[#kept + 1] = {bid, bs}
      end
    end
    last_s, last_id, seen = bs, bid, seen + 1
    if seen % 200 == 0 and now_ms() - started > budget then
      state = 'budget'
      break
    end
  end
end
local out = {state, '', ''}
if state == 'more' then
  out[2], out[3] = kept[#kept][2], kept[#kept][1]
elseif state == 'budget' then
  out[2], out[3] = last_s, last_id
end
for _, r in ipairs(kept) do out[#out + 1] = r end
return out
