-- gello SQLite schema, version 10: the completed-job history, one row per ack flush.

-- A row holds the records of one ack transaction that share a queue, a worker and a
-- monitored mark, as a JSON array of [id, name, attempts, wait_s, runtime_s, finished_at,
-- payload, tags] arrays (payload and tags as the JSON text they were, or null; wait_s
-- and runtime_s to the microsecond). A commit writes every page it touched whole: a row
-- and an index entry per job made an ack of 16 jobs write about 4.8 pages more, a row
-- per flush about 3 (docs/benchmarks.md). `jobs` counts the records, `oldest_at` and
-- `finished_at` bound their finish times, so the count trim and the age prune touch
-- whole rows and rewrite only a row that straddles their limit.
CREATE TABLE IF NOT EXISTS gello_history (
    queue       TEXT NOT NULL,
    worker      TEXT NOT NULL,
    monitored   INTEGER NOT NULL,
    jobs        INTEGER NOT NULL,
    oldest_at   REAL NOT NULL,
    finished_at REAL NOT NULL,
    records     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gello_history_queue ON gello_history (queue, finished_at);

INSERT INTO gello_history (queue, worker, monitored, jobs, oldest_at, finished_at, records)
SELECT queue, worker, monitored, 1, finished_at, finished_at,
       json_array(json_array(id, name, attempts, wait_s, runtime_s, finished_at, payload,
                             tags))
FROM gello_completed;

-- Emptied, not dropped: a worker of an earlier release still running beside this one
-- writes its records there (and trims them itself) rather than failing its acks.
DELETE FROM gello_completed;
