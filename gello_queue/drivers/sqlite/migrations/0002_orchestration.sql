-- gello SQLite schema, version 2: unique-lock expiry, coordination state, batches.

-- When a job's unique lock stops counting (unique_for).
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
