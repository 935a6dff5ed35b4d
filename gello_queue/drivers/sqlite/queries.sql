-- Statements of the SQLite driver, by name; read once when the driver is imported.
-- Times are epoch seconds from the clock of the machine holding the file, passed in as
-- parameters: SQLite has no server clock of its own.

-- name: journal_wal
PRAGMA journal_mode=WAL;

-- name: synchronous_normal
PRAGMA synchronous=NORMAL;

-- name: data_version
-- Bumped by every commit of another connection: what an idle worker watches.
PRAGMA data_version;


-- Producing ------------------------------------------------------------------------

-- name: insert_job
-- A push sent again (its answer was lost) stores the job once.
INSERT INTO gello_jobs (id, queue, priority, available_at, created_at, attempts,
                        max_attempts, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING;

-- name: unique_holder
SELECT id, token IS NOT NULL, unique_until FROM gello_jobs WHERE unique_key = ?;

-- name: unique_drop_key
UPDATE gello_jobs SET unique_key = NULL, unique_until = NULL WHERE id = ?;

-- name: insert_unique_job
INSERT INTO gello_jobs (id, queue, priority, available_at, created_at, attempts,
                        max_attempts, body, unique_key, unique_until)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING;

-- name: delete_job
DELETE FROM gello_jobs WHERE id = ?;


-- Consuming ------------------------------------------------------------------------

-- name: reserve
-- One queue's best due jobs, leased under one token. Columns come back as what Python
-- can always read, whatever another tool wrote into them (SQLite keeps text in a number
-- column, and bytes that are not UTF-8 in a text one): one such row must not fail its
-- batch. A body that is not an envelope reaches the worker, which fails it.
UPDATE gello_jobs SET attempts = CAST(attempts AS INTEGER) + 1, token = ?,
                      lease_expires_at = ?, reserved_by = ?
WHERE id IN (SELECT id FROM gello_jobs WHERE queue = ? AND token IS NULL
             AND available_at <= ? ORDER BY priority DESC, available_at, id LIMIT ?)
RETURNING id, attempts, CAST(body AS BLOB), CAST(priority AS INTEGER), available_at;

-- name: ack
DELETE FROM gello_jobs WHERE id = ? AND token = ?;

-- name: release
UPDATE gello_jobs SET token = NULL, lease_expires_at = NULL, reserved_by = NULL,
                      attempts = ?, available_at = ?, body = ?
WHERE id = ? AND token = ?;

-- name: take_reserved
-- A failing job leaves the job table, if its lease still holds.
DELETE FROM gello_jobs WHERE id = ? AND token = ? RETURNING queue, attempts;

-- name: insert_failed
INSERT OR REPLACE INTO gello_failed_jobs (id, queue, name, body, exception, message,
                                          traceback, failed_at, attempts, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: extend
UPDATE gello_jobs SET lease_expires_at = ? WHERE id = ? AND token = ?;

-- name: expired_leases
-- Read as reserve reads (numbers and bytes whatever was written): one malformed row must
-- not stop every lease from being rescued.
SELECT id, queue, CAST(attempts AS INTEGER), CAST(max_attempts AS INTEGER),
       CAST(body AS BLOB), reserved_by
FROM gello_jobs WHERE token IS NOT NULL AND lease_expires_at <= ?;

-- name: requeue
UPDATE gello_jobs SET token = NULL, lease_expires_at = NULL, reserved_by = NULL,
                      available_at = ?
WHERE id = ?;


-- Inspecting and managing jobs -----------------------------------------------------

-- name: count_jobs
SELECT queue,
       SUM(token IS NULL AND available_at <= ?1),
       SUM(token IS NULL AND available_at > ?1),
       SUM(token IS NOT NULL),
       MIN(CASE WHEN token IS NULL AND available_at <= ?1 THEN available_at END)
FROM gello_jobs GROUP BY queue;

-- name: count_failed_by_queue
SELECT queue, COUNT(*) FROM gello_failed_jobs GROUP BY queue;

-- name: queues
SELECT DISTINCT queue FROM gello_jobs UNION SELECT DISTINCT queue FROM gello_failed_jobs
ORDER BY 1;

-- name: clear
DELETE FROM gello_jobs WHERE queue = ? AND token IS NULL;

-- name: find_job
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE id = ?;

-- The job lists, one statement per state with and without a queue. Their columns are
-- find_job's. Parameters by name: :now, :queue, :limit, :offset.

-- name: jobs_pending
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NULL AND available_at <= :now
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: jobs_pending_in_queue
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NULL AND available_at <= :now AND queue = :queue
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: jobs_scheduled
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NULL AND available_at > :now
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: jobs_scheduled_in_queue
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NULL AND available_at > :now AND queue = :queue
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: jobs_reserved
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NOT NULL
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: jobs_reserved_in_queue
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token
FROM gello_jobs WHERE token IS NOT NULL AND queue = :queue
ORDER BY available_at, id LIMIT :limit OFFSET :offset;

-- name: job_ids_by_prefix
SELECT id FROM gello_jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?;

-- name: cancel
DELETE FROM gello_jobs WHERE id = ? AND token IS NULL;

-- name: promote
UPDATE gello_jobs SET available_at = ?1 WHERE id = ?2 AND token IS NULL
                                          AND available_at > ?1;


-- The failed store -----------------------------------------------------------------
-- Its columns, in every statement below, are FailedJob's fields in order.

-- name: failed_list
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM gello_failed_jobs ORDER BY failed_at DESC, id DESC LIMIT ? OFFSET ?;

-- name: failed_list_in_queue
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM gello_failed_jobs WHERE queue = ? ORDER BY failed_at DESC, id DESC LIMIT ? OFFSET ?;

-- name: failed_count
SELECT COUNT(*) FROM gello_failed_jobs;

-- name: failed_count_in_queue
SELECT COUNT(*) FROM gello_failed_jobs WHERE queue = ?;

-- name: failed_ids_by_prefix
SELECT id FROM gello_failed_jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?;

-- name: failed_find
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM gello_failed_jobs WHERE id = ?;

-- name: failed_take
DELETE FROM gello_failed_jobs WHERE id = ?
RETURNING id, queue, name, body, exception, message, traceback, failed_at, attempts;

-- name: retry_job
INSERT OR REPLACE INTO gello_jobs (id, queue, priority, available_at, created_at, attempts,
                                   max_attempts, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: failed_forget
DELETE FROM gello_failed_jobs WHERE id = ?;

-- name: failed_flush
DELETE FROM gello_failed_jobs;

-- name: failed_flush_queue
DELETE FROM gello_failed_jobs WHERE queue = ?;

-- name: failed_prune
DELETE FROM gello_failed_jobs WHERE failed_at < ?;

-- name: failed_import
INSERT OR IGNORE INTO gello_failed_jobs (id, queue, name, body, exception, message,
                                         traceback, failed_at, attempts, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: failed_unprinted
-- Rows stored before fingerprints were (see migration 4), a batch at a time.
SELECT id, name, exception, message FROM gello_failed_jobs WHERE fingerprint IS NULL
LIMIT ?;

-- name: failed_set_fingerprint
UPDATE gello_failed_jobs SET fingerprint = ? WHERE id = ?;


-- Workers and control --------------------------------------------------------------

-- name: worker_beat
INSERT OR REPLACE INTO gello_workers (id, record, last_seen, ttl) VALUES (?, ?, ?, ?);

-- name: workers_forget_silent
-- Workers that died without saying so, so the table stays small.
DELETE FROM gello_workers WHERE last_seen + ttl * 10 < ?;

-- name: worker_gone
DELETE FROM gello_workers WHERE id = ?;

-- name: workers
SELECT record FROM gello_workers WHERE last_seen + ttl >= ? ORDER BY id;

-- name: worker_command_take
DELETE FROM gello_control WHERE key >= ? AND key < ? RETURNING key, value;

-- name: control_set
INSERT OR REPLACE INTO gello_control (key, value) VALUES (?, ?);

-- name: control_unset
DELETE FROM gello_control WHERE key = ?;

-- name: paused
SELECT substr(key, 8) FROM gello_control WHERE key LIKE 'paused:%';

-- name: control_value
SELECT value FROM gello_control WHERE key = ?;

-- name: throughput_add
INSERT INTO gello_throughput (minute, queue, processed, failed) VALUES (?, ?, ?, ?)
ON CONFLICT (minute, queue) DO UPDATE SET
    processed = processed + excluded.processed, failed = failed + excluded.failed;

-- name: throughput_trim
DELETE FROM gello_throughput WHERE minute < ?;

-- name: throughput
SELECT minute, queue, processed, failed FROM gello_throughput WHERE minute >= ?
ORDER BY minute, queue;

-- name: timings_add
INSERT INTO gello_timings (minute, queue, job, series, bucket, count) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (minute, queue, job, series, bucket) DO UPDATE SET count = count + excluded.count;

-- name: timings_trim
DELETE FROM gello_timings WHERE minute < ?;

-- name: timings
SELECT minute, queue, job, series, bucket, count FROM gello_timings WHERE minute >= ?
ORDER BY minute, queue, job, series, bucket;

-- name: events_add
INSERT INTO gello_events (at, record) VALUES (?, ?);

-- name: events_trim
-- Events older than ?1 go, and all but the newest ?2.
DELETE FROM gello_events
WHERE at < ?1
   OR seq NOT IN (SELECT seq FROM gello_events ORDER BY at DESC, seq DESC LIMIT ?2);

-- name: events_recent
SELECT record FROM gello_events WHERE at >= ? ORDER BY at DESC, seq DESC LIMIT ?;


-- Coordination ---------------------------------------------------------------------
-- Counters are 'c:<key>', locks 'l:<key>'.

-- name: coordination_sweep
-- A bounded bite of the expired entries, off the index.
DELETE FROM gello_coordination WHERE key IN (SELECT key FROM gello_coordination
                                             WHERE expires_at <= ? LIMIT 1000);

-- name: counter_incr
-- ?1 key, ?2 increment, ?3 now, ?4 ttl: an expired counter starts again.
INSERT INTO gello_coordination (key, value, expires_at) VALUES (?1, ?2, ?3 + ?4)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN expires_at <= ?3 THEN ?2 ELSE value + ?2 END,
    expires_at = CASE WHEN expires_at <= ?3 THEN ?3 + ?4 ELSE expires_at END
RETURNING value;

-- name: lock_acquire
-- ?1 key, ?2 owner, ?3 now, ?4 ttl: taken when free, expired or already ours.
INSERT INTO gello_coordination (key, owner, expires_at) VALUES (?1, ?2, ?3 + ?4)
ON CONFLICT (key) DO UPDATE SET owner = ?2, expires_at = ?3 + ?4
WHERE owner = ?2 OR expires_at <= ?3
RETURNING owner;

-- name: lock_release
DELETE FROM gello_coordination WHERE key = ? AND owner = ? AND expires_at > ?;

-- name: lock_owner
SELECT owner FROM gello_coordination WHERE key = ? AND expires_at > ?;


-- Batches --------------------------------------------------------------------------
-- A batch's columns, wherever one is read: id, name, total, processed, failed,
-- created_at, finished_at, cancelled_at, options.

-- name: batch_upsert
-- Pushing more jobs into an existing batch adds to its total.
INSERT INTO gello_batches (id, name, total, created_at, options) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET total = total + excluded.total;

-- name: batch_exists
SELECT 1 FROM gello_batches WHERE id = ?;

-- name: batch_job_mark
SELECT failed FROM gello_batch_jobs WHERE batch_id = ? AND job_id = ?;

-- name: batch_job_insert
INSERT INTO gello_batch_jobs (batch_id, job_id, failed) VALUES (?, ?, ?);

-- name: batch_count_processed
UPDATE gello_batches SET processed = processed + 1 WHERE id = ?;

-- name: batch_count_failed
UPDATE gello_batches SET failed = failed + 1 WHERE id = ?;

-- name: batch_job_unfail
UPDATE gello_batch_jobs SET failed = 0 WHERE batch_id = ? AND job_id = ?;

-- name: batch_failed_to_processed
UPDATE gello_batches SET failed = failed - 1, processed = processed + 1 WHERE id = ?;

-- name: batch_finish
-- Stamped once, when every job has ended; the batch comes back either way.
UPDATE gello_batches
SET finished_at = coalesce(finished_at, CASE WHEN processed + failed >= total THEN ? END)
WHERE id = ?
RETURNING id, name, total, processed, failed, created_at, finished_at, cancelled_at, options;

-- name: batch_find
SELECT id, name, total, processed, failed, created_at, finished_at, cancelled_at, options
FROM gello_batches WHERE id = ?;

-- name: batch_failed_ids
SELECT job_id FROM gello_batch_jobs WHERE batch_id = ? AND failed ORDER BY job_id;

-- name: batch_list
SELECT id, name, total, processed, failed, created_at, finished_at, cancelled_at, options
FROM gello_batches ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?;

-- name: batch_cancel
-- ?1 cancel (1) or not (0), ?2 now: a second cancel keeps the first time.
UPDATE gello_batches SET cancelled_at = CASE WHEN ?1 THEN coalesce(cancelled_at, ?2) END
WHERE id = ?3;

-- name: batch_prunable
-- Created before it ended: the created_at index bounds the scan.
SELECT id FROM gello_batches WHERE created_at < ?1
                               AND (finished_at < ?1 OR cancelled_at < ?1);

-- name: batch_jobs_delete
DELETE FROM gello_batch_jobs WHERE batch_id = ?;

-- name: batch_delete
DELETE FROM gello_batches WHERE id = ?;


-- Results ---------------------------------------------------------------------------

-- name: result_put
-- ?1 id, ?2 JSON, ?3 expires_at: a second result of one job replaces the first.
INSERT INTO gello_results (id, data, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at;

-- name: result_get
SELECT data FROM gello_results WHERE id = ? AND expires_at > ?;

-- name: result_sweep
-- A bounded bite of the expired results, off the index.
DELETE FROM gello_results WHERE id IN (SELECT id FROM gello_results
                                       WHERE expires_at <= ? LIMIT 1000);


-- Progress --------------------------------------------------------------------------

-- name: progress_put
-- ?1 id, ?2 fraction, ?3 message, ?4 updated_at, ?5 expires_at: the latest replaces.
INSERT INTO gello_progress (id, fraction, message, updated_at, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (id) DO UPDATE SET fraction = excluded.fraction, message = excluded.message,
                               updated_at = excluded.updated_at,
                               expires_at = excluded.expires_at;

-- name: progress_get
-- ?1 a JSON array of ids, ?2 now.
SELECT id, fraction, message, updated_at FROM gello_progress
WHERE id IN (SELECT value FROM json_each(?1)) AND expires_at > ?2;

-- name: progress_sweep
DELETE FROM gello_progress WHERE id IN (SELECT id FROM gello_progress
                                        WHERE expires_at <= ? LIMIT 1000);
-- name: history_record
-- One flush's records of one queue, worker and monitored mark (see migration 10).
INSERT INTO gello_history (queue, worker, monitored, jobs, oldest_at, finished_at, records)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: history_trim_rows
-- ?1 queue, ?2 keep: the unmonitored rows wholly older than those that hold the queue's
-- newest ?2 records, off the index; the ack's trim, which may keep a flush more than ?2.
DELETE FROM gello_history
WHERE queue = ?1 AND monitored = 0 AND finished_at < (
    SELECT finished_at FROM (
        SELECT finished_at,
               sum(jobs) OVER (ORDER BY finished_at DESC ROWS UNBOUNDED PRECEDING) AS newer
        FROM gello_history WHERE queue = ?1
    ) WHERE newer >= ?2 LIMIT 1
);

-- name: history_drop_rows
-- ?1 queue or NULL, ?2 monitored (0 or 1), ?3 before: the rows whose every record
-- finished before ?3. Returns how many records each held. Through CAST: a time another
-- tool wrote as text sorts above every number, and would never grow old enough.
DELETE FROM gello_history
WHERE (?1 IS NULL OR queue = ?1) AND monitored = ?2 AND CAST(finished_at AS REAL) < ?3
RETURNING CAST(jobs AS INTEGER);

-- name: history_straddling
-- The rows history_split_rows rewrites (same parameters), with how many records each held.
SELECT rowid, CAST(jobs AS INTEGER) FROM gello_history
WHERE (?1 IS NULL OR queue = ?1) AND monitored = ?2 AND oldest_at < ?3 AND finished_at >= ?3;

-- name: history_split_rows
-- ?1 queue or NULL, ?2 monitored (0 or 1), ?3 before: the rows that straddle ?3 keep
-- only their records that finished at or after it. A row whose records are not JSON
-- is left whole, to go with the first drop it is wholly older than.
UPDATE gello_history SET records = kept.records, jobs = kept.jobs, oldest_at = kept.oldest_at
FROM (
    SELECT h.rowid AS row, json_group_array(json(r.value)) AS records, count(*) AS jobs,
           min(json_extract(r.value, '$[5]')) AS oldest_at
    FROM gello_history h,
         json_each(CASE WHEN json_valid(h.records) THEN h.records ELSE '[]' END) r
    WHERE (?1 IS NULL OR h.queue = ?1) AND h.monitored = ?2 AND h.oldest_at < ?3
      AND h.finished_at >= ?3 AND json_extract(CASE r.type WHEN 'array' THEN r.value END, '$[5]') >= ?3
    GROUP BY h.rowid
) AS kept
WHERE gello_history.rowid = kept.row
RETURNING rowid, jobs;

-- name: history_queues
SELECT DISTINCT queue FROM gello_history;

-- name: history_counts
SELECT queue, CAST(total(jobs) AS INTEGER) FROM gello_history GROUP BY queue;

-- name: history_rows
-- ?1 queue or NULL, ?2 since: the rows that may hold records finished since ?2, the
-- newest first (by their newest record), for ``recent`` to read until it has enough.
SELECT queue, worker, monitored, CAST(finished_at AS REAL), records FROM gello_history
WHERE (?1 IS NULL OR queue = ?1) AND finished_at >= ?2
ORDER BY finished_at DESC;

-- name: tag_monitor
INSERT INTO gello_monitored_tags (tag, since) VALUES (?, ?) ON CONFLICT (tag) DO NOTHING;

-- name: tag_unmonitor
DELETE FROM gello_monitored_tags WHERE tag = ?;

-- name: tags_monitored
SELECT tag FROM gello_monitored_tags ORDER BY tag;
