-- gello schema, version 10: tags in the completed-job history, and monitored tags.

-- The job's tags as a JSON array (as its envelope writes them), NULL when it has none; a
-- tag is found by its needle (core.tags.tag_needle) in this text, as in a job's body. No
-- index: the history is kept small (QUEUE_KEEP_COMPLETED per queue) and an index would
-- cost on every ack. A nullable column without a default changes no stored row.
ALTER TABLE {{completed}} ADD COLUMN tags text;

-- Set when the job carried a tag monitored when it completed: the count trims spare the
-- row, and retention prunes it at QUEUE_KEEP_MONITORED_HOURS instead.
ALTER TABLE {{completed}} ADD COLUMN monitored boolean NOT NULL DEFAULT false;

-- The tags operators monitor (Inspector.monitor_tag): their completed jobs are kept for
-- QUEUE_KEEP_MONITORED_HOURS beyond the history's count limit. Workers read them in their
-- maintenance tick (as the paused queues). A handful of rows.
CREATE TABLE {{monitored_tags}} (
    tag   text COLLATE "C" PRIMARY KEY,
    since double precision NOT NULL
);
