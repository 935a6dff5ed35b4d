-- gello SQLite schema, version 3: kept job results.

-- What a job's handle returned, as JSON, for jobs that keep results; read until
-- expires_at, and swept now and then after.
CREATE TABLE IF NOT EXISTS gello_results (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_results_expires ON gello_results (expires_at);
