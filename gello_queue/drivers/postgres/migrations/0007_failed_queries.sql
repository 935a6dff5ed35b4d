-- gello schema, version 7: failed-store filters, counts and groups run in SQL.

-- Each failure's fingerprint (gello_queue.core.failed_query.fingerprint_of), written by
-- the driver when it stores one; rows stored without one (before this version, or by
-- the rescue statement, which has no Python at hand) get theirs, in batches, on the
-- next query that needs it.
ALTER TABLE {{failed_jobs}} ADD COLUMN fingerprint text COLLATE "C";
CREATE INDEX {{@failed_jobs_fingerprint}} ON {{failed_jobs}} (fingerprint, failed_at, id);
