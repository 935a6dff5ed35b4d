-- gello SQLite schema, version 4: running jobs' progress.

-- The last progress a job reported (fraction 0..1, message, when); read until
-- expires_at, and swept now and then after.
CREATE TABLE IF NOT EXISTS gello_progress (
    id         TEXT PRIMARY KEY,
    fraction   REAL NOT NULL,
    message    TEXT,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_progress_expires ON gello_progress (expires_at);
