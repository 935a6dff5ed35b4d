-- gello SQLite schema, version 8: recent operational events (the EventLog port).

-- One row per event, its record as JSON; seq orders events recorded at the same time.
-- Trimmed by every write to the newest EVENTS_KEPT within EVENTS_KEPT_S, so the table
-- stays a few rows and needs no index but its key.
CREATE TABLE IF NOT EXISTS gello_events (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    record TEXT NOT NULL
);
