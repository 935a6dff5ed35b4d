-- KEYS: ready, delayed, reserved
-- ARGV: job prefix, state (pending|scheduled|reserved), how many
-- Returns the first records of that state, oldest first (see record() for the fields).
local jp, state, want = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_s()
local ids = {}
if state == 'scheduled' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'LIMIT', 0, want)
else
  local cands = {}
  if state == 'pending' then
    for band = 0, 20 do
      local part = redis.call('ZRANGEBYSCORE', KEYS[1], band * BAND,
        '(' .. ((band + 1) * BAND), 'LIMIT', 0, want)
      for _, id in ipairs(part) do cands[#cands + 1] = id end
    end
    local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, want)
    for _, id in ipairs(due) do cands[#cands + 1] = id end
  else
    cands = redis.call('ZRANGE', KEYS[3], 0, -1)
  end
  local at = {}
  for _, id in ipairs(cands) do
    local m = redis.pcall('HGET', jp .. id, 'm')  -- see malformed()
    at[id] = meta(type(m) == 'string' and m)
  end
  table.sort(cands, function(a, b)
    if at[a] ~= at[b] then return at[a] < at[b] end
    return a < b
  end)
  for i = 1, math.min(want, #cands) do ids[i] = cands[i] end
end
local out = {}
for _, id in ipairs(ids) do
  local r = record(jp, KEYS[3], id, now)
  if r then out[#out + 1] = r end
end
return out
