-- gello schema, version 1. Placeholders: {{schema}} is the quoted schema, {{jobs}} a
-- quoted, schema-qualified table (prefix applied), {{@jobs_ready}} a quoted bare name
-- with the prefix (index names live in their table's schema).

-- Jobs still in a queue: pending (token NULL, due), scheduled (token NULL, later),
-- reserved (token set). Times are epoch seconds from the database clock.
CREATE TABLE {{jobs}} (
    id               text COLLATE "C" PRIMARY KEY,
    queue            text COLLATE "C" NOT NULL,
    name             text NOT NULL DEFAULT '?',
    -- 0..5, higher first: reserve probes each value, so the range is a contract.
    priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 5),
    available_at     double precision NOT NULL,
    created_at       double precision NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 1,
    -- text, not jsonb: a poison message (invalid JSON) must still be storable, and the
    -- worker parses the body anyway, so jsonb's parse on insert would be pure cost.
    body             text NOT NULL,
    unique_key       text,
    token            text,
    lease_expires_at double precision,
    reserved_by      text
);
-- Reservation walks this index in order; leased rows leave it, so it stays as small as
-- the backlog and SKIP LOCKED never has to step over held jobs.
CREATE INDEX {{@jobs_ready}}
    ON {{jobs}} (queue, priority DESC, available_at, id) WHERE token IS NULL;
-- Rescue scans only leased rows whose lease ran out.
CREATE INDEX {{@jobs_leases}}
    ON {{jobs}} (lease_expires_at) WHERE token IS NOT NULL;
-- Partial: most jobs have no unique key and should not pay for an index entry.
CREATE UNIQUE INDEX {{@jobs_unique_key}}
    ON {{jobs}} (unique_key) WHERE unique_key IS NOT NULL;
-- Every job row is inserted, updated and deleted within seconds: vacuum early and often
-- so dead tuples do not pile up in the ready index.
ALTER TABLE {{jobs}} SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

CREATE TABLE {{failed_jobs}} (
    id        text COLLATE "C" PRIMARY KEY,
    queue     text COLLATE "C" NOT NULL,
    name      text NOT NULL,
    body      text NOT NULL,
    exception text NOT NULL,
    message   text NOT NULL,
    traceback text NOT NULL,
    failed_at double precision NOT NULL,
    attempts  integer NOT NULL
);
CREATE INDEX {{@failed_jobs_failed_at}} ON {{failed_jobs}} (failed_at, id);
CREATE INDEX {{@failed_jobs_queue}} ON {{failed_jobs}} (queue, failed_at, id);

-- Heartbeats: the record is the worker's JSON; last_seen comes from the database clock.
CREATE TABLE {{workers}} (
    id        text COLLATE "C" PRIMARY KEY,
    record    text NOT NULL,
    last_seen double precision NOT NULL,
    ttl       double precision NOT NULL
);

-- Pause flags ('paused:<queue>') and the restart signal ('restart').
CREATE TABLE {{control}} (
    key   text COLLATE "C" PRIMARY KEY,
    value double precision NOT NULL
);

-- Per-minute counters; rows older than a day are deleted as new ones are written.
CREATE TABLE {{throughput}} (
    minute    bigint NOT NULL,
    queue     text COLLATE "C" NOT NULL,
    processed bigint NOT NULL DEFAULT 0,
    failed    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue)
);
