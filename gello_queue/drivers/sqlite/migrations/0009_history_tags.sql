-- gello SQLite schema, version 9: tags in the completed-job history, and monitored tags.

-- The job's tags as a JSON array (as its envelope writes them), NULL when it has none; a
-- tag is found by its needle (core.tags.tag_needle) in this text, as in a job's body. No
-- index: the history is kept small (QUEUE_KEEP_COMPLETED per queue) and an index would
-- cost on every ack.
ALTER TABLE gello_completed ADD COLUMN tags TEXT;

-- Set when the job carried a tag monitored when it completed: the count trims spare the
-- row, and retention prunes it at QUEUE_KEEP_MONITORED_HOURS instead.
ALTER TABLE gello_completed ADD COLUMN monitored INTEGER NOT NULL DEFAULT 0;

-- The tags operators monitor (Inspector.monitor_tag): their completed jobs are kept for
-- QUEUE_KEEP_MONITORED_HOURS beyond the history's count limit. Workers read them in their
-- maintenance tick (as the paused queues). A handful of rows.
CREATE TABLE IF NOT EXISTS gello_monitored_tags (
    tag   TEXT PRIMARY KEY,
    since REAL NOT NULL
);
