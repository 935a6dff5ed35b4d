-- gello schema, version 9: recent operational events (the EventLog port).

-- One row per event, its record as JSON; seq orders events recorded at the same time.
-- Trimmed by every write to the newest EVENTS_KEPT within EVENTS_KEPT_S, so the table
-- stays a few rows and needs no index but its key.
CREATE TABLE {{events}} (
    seq    bigserial PRIMARY KEY,
    at     double precision NOT NULL,
    record text NOT NULL
);
