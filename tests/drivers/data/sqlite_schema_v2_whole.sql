-- The schema.sql of gello before numbered migrations: it built every database now at
-- version 2, run whole (split at each semicolon) and then PRAGMA user_version = 2.
-- migration: 1
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

-- migration: 2 (orchestration). The whole file runs when the version is below the
-- current one, so everything here must be safe to run on a version-1 database.
ALTER TABLE gello_jobs ADD COLUMN unique_until REAL;

-- Counters ('c:' keys) and locks ('l:' keys) shared by workers: rate limits,
-- overlap locks, once-only claims. Expired rows are swept now and then.
CREATE TABLE IF NOT EXISTS gello_coordination (
    key        TEXT PRIMARY KEY,
    owner      TEXT NOT NULL DEFAULT '',
    value      INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_coordination_expires ON gello_coordination (expires_at);

CREATE TABLE IF NOT EXISTS gello_batches (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    total        INTEGER NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    finished_at  REAL,
    cancelled_at REAL,
    options      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_batches_created ON gello_batches (created_at);

-- One row per job of a batch that ran to an end: marks are idempotent per job.
CREATE TABLE IF NOT EXISTS gello_batch_jobs (
    batch_id TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    failed   INTEGER NOT NULL,
    PRIMARY KEY (batch_id, job_id)
);
