-- gello SQLite schema, version 9: tags in the completed-job history, and monitored tags.

-- The job's tags as a JSON array (as its envelope writes them), NULL when it has none; a
-- tag is found by its needle (core.tags.tag_needle) in this text, as in a job's body. No
-- index: the history is kept small (QUEUE_KEEP_COMPLETED per queue) and an index would
-- cost on every ack.
ALTER TABLE gello_completed ADD COLUMN tags TEXT;

-- The tags operators monitor (Inspector.monitor_tag): their completed jobs are kept for
-- QUEUE_KEEP_MONITORED_HOURS beyond the history's count and age limits. A handful of rows.
CREATE TABLE IF NOT EXISTS gello_monitored_tags (
    tag   TEXT PRIMARY KEY,
    since REAL NOT NULL
);
