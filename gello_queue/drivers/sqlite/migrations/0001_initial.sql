-- gello SQLite schema, version 1: jobs, the failed store, workers, control, throughput.

CREATE TABLE IF NOT EXISTS gello_jobs (
    id               TEXT PRIMARY KEY,
    queue            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    available_at     REAL NOT NULL,
    created_at       REAL NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    body             TEXT NOT NULL,
    unique_key       TEXT UNIQUE,
    token            TEXT,
    lease_expires_at REAL,
    reserved_by      TEXT
);
-- Reservation walks this index in order: only unleased rows, best first.
CREATE INDEX IF NOT EXISTS gello_jobs_ready
    ON gello_jobs (queue, priority DESC, available_at, id) WHERE token IS NULL;
CREATE INDEX IF NOT EXISTS gello_jobs_leases
    ON gello_jobs (lease_expires_at) WHERE token IS NOT NULL;

CREATE TABLE IF NOT EXISTS gello_failed_jobs (
    id         TEXT PRIMARY KEY,
    queue      TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    exception  TEXT NOT NULL,
    message    TEXT NOT NULL,
    traceback  TEXT NOT NULL,
    failed_at  REAL NOT NULL,
    attempts   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_failed_jobs_failed_at ON gello_failed_jobs (failed_at);
CREATE INDEX IF NOT EXISTS gello_failed_jobs_queue ON gello_failed_jobs (queue, failed_at);

CREATE TABLE IF NOT EXISTS gello_workers (
    id        TEXT PRIMARY KEY,
    record    TEXT NOT NULL,
    last_seen REAL NOT NULL,
    ttl       REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS gello_control (
    key   TEXT PRIMARY KEY,
    value REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS gello_throughput (
    minute    INTEGER NOT NULL,
    queue     TEXT NOT NULL,
    processed INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue)
);
