-- KEYS: reserved
-- ARGV: job prefix, id
-- Returns the job's record (see record()) or nil.
return record(ARGV[1], KEYS[1], ARGV[2], now_s())
