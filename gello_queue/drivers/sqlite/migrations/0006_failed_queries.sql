-- gello SQLite schema, version 6: failed-store filters, counts and groups run in SQL.

-- Each failure's fingerprint (gello_queue.core.failed_query.fingerprint_of), written when
-- it is stored; rows stored before this version get theirs on the next query that needs
-- it (the rule is Python's, so the driver fills them in batches).
ALTER TABLE gello_failed_jobs ADD COLUMN fingerprint TEXT;

-- Newest-first paging with a (failed_at, id) cursor, overall, per queue and per group.
CREATE INDEX IF NOT EXISTS gello_failed_jobs_newest ON gello_failed_jobs (failed_at, id);
DROP INDEX IF EXISTS gello_failed_jobs_queue;
CREATE INDEX IF NOT EXISTS gello_failed_jobs_queue ON gello_failed_jobs (queue, failed_at, id);
CREATE INDEX IF NOT EXISTS gello_failed_jobs_fingerprint
    ON gello_failed_jobs (fingerprint, failed_at, id);
