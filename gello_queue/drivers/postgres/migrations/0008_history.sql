-- gello schema, version 8: the completed-job history.

-- The last completed jobs of each queue, written by the ack's own statement; trimmed to
-- the newest QUEUE_KEEP_COMPLETED per queue now and then, and by age by retention.
-- One index, by queue: each costs on every ack, and the table stays small enough
-- (QUEUE_KEEP_COMPLETED per queue) for reads across queues and the age prune to scan it.
CREATE TABLE {{completed}} (
    id          text COLLATE "C" NOT NULL,
    queue       text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    attempts    integer NOT NULL,
    worker      text NOT NULL,
    wait_s      double precision NOT NULL,
    runtime_s   double precision NOT NULL,
    finished_at double precision NOT NULL,
    payload     text
);
CREATE INDEX {{@completed_queue}} ON {{completed}} (queue, finished_at);
