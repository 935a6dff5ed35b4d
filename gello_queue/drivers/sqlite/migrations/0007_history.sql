-- gello SQLite schema, version 7: the completed-job history.

-- The last completed jobs of each queue, written in the ack's transaction; trimmed to
-- the newest QUEUE_KEEP_COMPLETED per queue now and then, and by age by retention.
-- One index, by queue: each costs on every ack, and the table stays small enough
-- (QUEUE_KEEP_COMPLETED per queue) for reads across queues and the age prune to scan it.
CREATE TABLE IF NOT EXISTS gello_completed (
    id          TEXT NOT NULL,
    queue       TEXT NOT NULL,
    name        TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    wait_s      REAL NOT NULL,
    runtime_s   REAL NOT NULL,
    finished_at REAL NOT NULL,
    payload     TEXT
);
CREATE INDEX IF NOT EXISTS gello_completed_queue ON gello_completed (queue, finished_at);
