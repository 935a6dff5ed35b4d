-- Statements of the PostgreSQL driver, by name. Rendered once per driver: {{jobs}} is a
-- quoted, schema-qualified table, {{=channel}} the NOTIFY channel as a string literal.
-- Times are epoch seconds from the database clock: date_part('epoch', now()) is the
-- statement's transaction start, stable within one statement (so it can drive indexes).
-- Notifications carry "<due epoch> <queue>" (an empty queue wakes every waiter).
-- {{!relaxed}} marks worker-side statements (reserve, ack, extend, release, fail, rescue,
-- heartbeats, counters): with relaxed commits they do not wait for the WAL flush. Losing
-- the last fraction of a second of them in a database crash only makes a job run again,
-- which at-least-once delivery allows; pushes always wait for the flush.

-- name: now
SELECT date_part('epoch', clock_timestamp());

-- name: push
-- Bulk insert from arrays; a conflict (same id, or a held unique key) inserts nothing
-- and the caller looks up the holder. Priorities are clamped to 0..5 (the range jobs
-- validate), which reserve walks one by one. Jobs due at once are stamped no later than the
-- database clock, so a client clock running ahead cannot delay them.
WITH ins AS (
    INSERT INTO {{jobs}} (id, queue, name, priority, available_at, created_at, attempts,
                         max_attempts, body, unique_key)
    SELECT i, q, n, greatest(0, least(5, p)),
           CASE WHEN a <= c THEN least(a, date_part('epoch', now())) ELSE a END,
           c, t, m, b, u
    FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::float8[],
                $6::float8[], $7::int[], $8::int[], $9::text[], $10::text[])
         AS r(i, q, n, p, a, c, t, m, b, u)
    ON CONFLICT DO NOTHING
    RETURNING id, queue, available_at
), woke AS (
    SELECT pg_notify({{=channel}}, min(available_at)::text || ' ' || queue)
    FROM ins GROUP BY queue
)
SELECT id FROM ins WHERE (SELECT count(*) FROM woke) >= 0;

-- name: push_plain
-- The common case, no unique keys: a plain insert (no speculative insertion, no rows sent
-- back). The caller computes the notifications, one per queue, into $10.
WITH ins AS (
    INSERT INTO {{jobs}} (id, queue, name, priority, available_at, created_at, attempts,
                         max_attempts, body)
    SELECT i, q, n, greatest(0, least(5, p)),
           CASE WHEN a <= c THEN least(a, date_part('epoch', now())) ELSE a END,
           c, t, m, b
    FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::float8[],
                $6::float8[], $7::int[], $8::int[], $9::text[])
         AS r(i, q, n, p, a, c, t, m, b)
)
SELECT pg_notify({{=channel}}, note) FROM unnest($10::text[]) AS note;

-- name: push_one
-- push_plain for one job, with scalar parameters: encoding ten one-element arrays and
-- unnesting them cost a fifth of a single awaited dispatch. $10 is the notification.
WITH ins AS (
    INSERT INTO {{jobs}} (id, queue, name, priority, available_at, created_at, attempts,
                         max_attempts, body)
    VALUES ($1, $2, $3, greatest(0, least(5, $4::smallint)),
            CASE WHEN $5::float8 <= $6::float8 THEN least($5::float8, date_part('epoch', now()))
                 ELSE $5::float8 END,
            $6::float8, $7::int, $8::int, $9::text)
)
SELECT pg_notify({{=channel}}, $10::text);

-- name: notify
-- After a COPY, in its transaction: one notification per queue, computed by the caller.
SELECT pg_notify({{=channel}}, note) FROM unnest($1::text[]) AS note;

-- name: holders
-- Who represents each envelope that push did not insert: itself, or its key's holder.
SELECT r.i, coalesce(own.id, held.id)
FROM unnest($1::text[], $2::text[]) AS r(i, u)
LEFT JOIN {{jobs}} own ON own.id = r.i
LEFT JOIN {{jobs}} held ON held.unique_key = r.u;

-- name: reserve
-- One slot per (queue, priority) in serving order: queues as given, priorities 5..0.
-- Each slot is an equality prefix of the ready index, so its scan stops at the first job
-- not yet due (a million jobs scheduled for tomorrow cost nothing), and the sort on the
-- slot ordinality is incremental: a later slot is read only when earlier ones could not
-- fill the limit.
WITH t AS (SELECT date_part('epoch', now()) AS now WHERE {{!relaxed}}),
wanted AS (
    SELECT j.id
    FROM unnest($1::text[], $2::smallint[]) WITH ORDINALITY AS s(qname, prio, ord)
    CROSS JOIN LATERAL (
        SELECT id, available_at FROM {{jobs}}
        WHERE queue = s.qname AND priority = s.prio AND token IS NULL
          AND available_at <= (SELECT now FROM t)
        ORDER BY available_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    ) j
    ORDER BY s.ord, j.available_at, j.id
    LIMIT $3
)
UPDATE {{jobs}} AS j
SET attempts = j.attempts + 1,
    token = gen_random_uuid()::text,
    lease_expires_at = (SELECT now FROM t) + $4,
    reserved_by = $5
FROM wanted w
WHERE j.id = w.id
RETURNING j.id, j.queue, j.token, j.attempts, j.body, j.lease_expires_at, j.priority,
          j.available_at;

-- name: ready
-- Polling (listen=False): is any slot's first job due? Index probes, like reserve.
SELECT EXISTS (
    SELECT 1
    FROM unnest($1::text[], $2::smallint[]) AS s(qname, prio)
    CROSS JOIN LATERAL (
        SELECT 1 FROM {{jobs}}
        WHERE queue = s.qname AND priority = s.prio AND token IS NULL
          AND available_at <= date_part('epoch', now())
        ORDER BY available_at
        LIMIT 1
    ) j
);

-- name: ack
-- Returns the ids whose token no longer holds the lease (usually none, so no rows).
WITH a AS (
    SELECT * FROM unnest($1::text[], $2::text[]) AS a(id, token)
), d AS (
    DELETE FROM {{jobs}} j USING a
    WHERE j.id = a.id AND j.token = a.token AND {{!relaxed}}
    RETURNING j.id
)
SELECT a.id FROM a WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = a.id);

-- name: release
WITH u AS (
    UPDATE {{jobs}}
    SET token = NULL, lease_expires_at = NULL, reserved_by = NULL,
        attempts = $3, available_at = date_part('epoch', now()) + $4, body = $5
    WHERE id = $1 AND token = $2 AND {{!relaxed}}
    RETURNING queue, available_at
)
SELECT queue FROM u
WHERE (SELECT count(*) FROM (
    SELECT pg_notify({{=channel}}, available_at::text || ' ' || queue) FROM u
) n) >= 0;

-- name: fail
WITH d AS (
    DELETE FROM {{jobs}} WHERE id = $1 AND token = $2 AND {{!relaxed}}
    RETURNING queue, attempts
)
INSERT INTO {{failed_jobs}} (id, queue, name, body, exception, message, traceback,
                            failed_at, attempts, fingerprint)
SELECT $1, d.queue, $3, $4, $5, $6, $7, date_part('epoch', now()), d.attempts, $8 FROM d
ON CONFLICT (id) DO UPDATE SET
    queue = excluded.queue, name = excluded.name, body = excluded.body,
    exception = excluded.exception, message = excluded.message,
    traceback = excluded.traceback, failed_at = excluded.failed_at,
    attempts = excluded.attempts, fingerprint = excluded.fingerprint;

-- name: extend
UPDATE {{jobs}} j
SET lease_expires_at = date_part('epoch', now()) + $3
FROM unnest($1::text[], $2::text[]) AS a(id, token)
WHERE j.id = a.id AND j.token = a.token AND {{!relaxed}}
RETURNING j.id;

-- name: rescue
-- One statement: expired leases on their last attempt go to the failed store, the
-- rest back to their queue (``last`` mirrors gello_queue.core.rescue.rescue_fails, and
-- 'WorkerLost' its LOST_WORKER_EXCEPTION; the contract suite holds them to it). SKIP
-- LOCKED lets several rescuers run at once.
WITH expired AS (
    SELECT id, attempts >= max_attempts AS last, reserved_by FROM {{jobs}}
    WHERE token IS NOT NULL AND lease_expires_at <= date_part('epoch', now())
      AND {{!relaxed}}
    ORDER BY lease_expires_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), dead AS (
    DELETE FROM {{jobs}} j USING expired e
    WHERE j.id = e.id AND e.last
    RETURNING j.id, j.queue, j.name, j.body, j.attempts, e.reserved_by
), buried AS (
    INSERT INTO {{failed_jobs}} (id, queue, name, body, exception, message, traceback,
                                failed_at, attempts)
    SELECT id, queue, name, body, 'WorkerLost', $1, '', date_part('epoch', now()), attempts
    FROM dead
    ON CONFLICT (id) DO UPDATE SET
        queue = excluded.queue, name = excluded.name, body = excluded.body,
        exception = excluded.exception, message = excluded.message,
        traceback = excluded.traceback, failed_at = excluded.failed_at,
        attempts = excluded.attempts, fingerprint = NULL
), requeued AS (
    UPDATE {{jobs}} j
    SET token = NULL, lease_expires_at = NULL, reserved_by = NULL,
        available_at = date_part('epoch', now())
    FROM expired e
    WHERE j.id = e.id AND NOT e.last
    RETURNING j.id, j.queue, e.reserved_by
), woke AS (
    SELECT pg_notify({{=channel}}, date_part('epoch', now())::text || ' ' || queue)
    FROM requeued GROUP BY queue
)
SELECT id, false AS failed, reserved_by FROM requeued WHERE (SELECT count(*) FROM woke) >= 0
UNION ALL
SELECT id, true, reserved_by FROM dead;

-- name: counts
SELECT queue,
       count(*) FILTER (WHERE token IS NULL AND available_at <= t.now),
       count(*) FILTER (WHERE token IS NULL AND available_at > t.now),
       count(*) FILTER (WHERE token IS NOT NULL),
       0::bigint,
       min(available_at) FILTER (WHERE token IS NULL AND available_at <= t.now)
FROM {{jobs}}, (SELECT date_part('epoch', now()) AS now) t
GROUP BY queue
UNION ALL
SELECT queue, 0, 0, 0, count(*), NULL FROM {{failed_jobs}} GROUP BY queue;

-- name: queues
SELECT queue FROM {{jobs}} UNION SELECT queue FROM {{failed_jobs}} ORDER BY 1;

-- name: clear
DELETE FROM {{jobs}} WHERE queue = $1 AND token IS NULL;

-- name: find
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, token IS NOT NULL, date_part('epoch', now())
FROM {{jobs}} WHERE id = $1;

-- name: jobs_pending
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, false, date_part('epoch', now())
FROM {{jobs}}
WHERE token IS NULL AND available_at <= date_part('epoch', now())
  AND ($1::text IS NULL OR queue = $1)
ORDER BY available_at, id LIMIT $2 OFFSET $3;

-- name: jobs_scheduled
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, false, date_part('epoch', now())
FROM {{jobs}}
WHERE token IS NULL AND available_at > date_part('epoch', now())
  AND ($1::text IS NULL OR queue = $1)
ORDER BY available_at, id LIMIT $2 OFFSET $3;

-- name: jobs_reserved
SELECT id, queue, attempts, priority, available_at, created_at, body, reserved_by,
       lease_expires_at, true, date_part('epoch', now())
FROM {{jobs}}
WHERE token IS NOT NULL AND ($1::text IS NULL OR queue = $1)
ORDER BY available_at, id LIMIT $2 OFFSET $3;

-- name: cancel
DELETE FROM {{jobs}} WHERE id = $1 AND token IS NULL;

-- name: promote
WITH u AS (
    UPDATE {{jobs}} SET available_at = date_part('epoch', now())
    WHERE id = $1 AND token IS NULL AND available_at > date_part('epoch', now())
    RETURNING queue, available_at
)
SELECT queue FROM u
WHERE (SELECT count(*) FROM (
    SELECT pg_notify({{=channel}}, available_at::text || ' ' || queue) FROM u
) n) >= 0;

-- name: failed_list
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM {{failed_jobs}}
ORDER BY failed_at DESC, id DESC LIMIT $1 OFFSET $2;

-- name: failed_list_queue
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM {{failed_jobs}} WHERE queue = $3
ORDER BY failed_at DESC, id DESC LIMIT $1 OFFSET $2;

-- name: failed_count
SELECT count(*) FROM {{failed_jobs}};

-- name: failed_count_queue
SELECT count(*) FROM {{failed_jobs}} WHERE queue = $1;

-- name: failed_ids_by_prefix
SELECT id FROM {{failed_jobs}} WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3;

-- name: job_ids_by_prefix
SELECT id FROM {{jobs}} WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3;

-- name: failed_find
SELECT id, queue, name, body, exception, message, traceback, failed_at, attempts
FROM {{failed_jobs}} WHERE id = $1;

-- name: failed_take_ids
DELETE FROM {{failed_jobs}} WHERE id = ANY($1::text[])
RETURNING id, queue, name, body, exception, message, traceback, failed_at, attempts,
          date_part('epoch', now());

-- name: failed_take_queue
-- Retry-all works in batches, so a huge failed store never sits in memory at once; jobs
-- that fail again after it started ($2) are left for the next call.
DELETE FROM {{failed_jobs}}
WHERE id IN (
    SELECT id FROM {{failed_jobs}} WHERE failed_at <= $2 AND queue = $3
    LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING id, queue, name, body, exception, message, traceback, failed_at, attempts,
          date_part('epoch', now());

-- name: failed_take_all
DELETE FROM {{failed_jobs}}
WHERE id IN (
    SELECT id FROM {{failed_jobs}} WHERE failed_at <= $2 LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING id, queue, name, body, exception, message, traceback, failed_at, attempts,
          date_part('epoch', now());

-- name: requeue
-- Failed jobs back as fresh jobs; a same-id row left behind is replaced, as SQLite does.
-- The rows are the ones gello_queue.core.failed_retry.rebuild_retried built (due at the
-- database's now() read by the failed_take statements), stored as given.
WITH ins AS (
    INSERT INTO {{jobs}} (id, queue, name, priority, available_at, created_at, attempts,
                         max_attempts, body)
    SELECT i, q, n, greatest(0, least(5, p)), a, c, t, m, b
    FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::float8[],
                $6::float8[], $7::int[], $8::int[], $9::text[]) AS r(i, q, n, p, a, c, t, m, b)
    ON CONFLICT (id) DO UPDATE SET
        queue = excluded.queue, name = excluded.name, priority = excluded.priority,
        available_at = excluded.available_at, created_at = excluded.created_at,
        attempts = excluded.attempts, max_attempts = excluded.max_attempts,
        body = excluded.body, token = NULL, lease_expires_at = NULL, reserved_by = NULL
    RETURNING queue, available_at
), woke AS (
    SELECT pg_notify({{=channel}}, min(available_at)::text || ' ' || queue)
    FROM ins GROUP BY queue
)
SELECT count(*) FROM ins WHERE (SELECT count(*) FROM woke) >= 0;

-- name: failed_forget
DELETE FROM {{failed_jobs}} WHERE id = $1;

-- name: failed_flush
DELETE FROM {{failed_jobs}};

-- name: failed_flush_queue
DELETE FROM {{failed_jobs}} WHERE queue = $1;

-- name: failed_prune
DELETE FROM {{failed_jobs}} WHERE failed_at < $1;

-- name: failed_import
-- Failed jobs exported from another backend, kept as they were; an id already in the
-- failed store is left alone (importing a file twice stores it once).
INSERT INTO {{failed_jobs}} (id, queue, name, body, exception, message, traceback,
                            failed_at, attempts, fingerprint)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::float8[], $9::int[], $10::text[])
ON CONFLICT (id) DO NOTHING;

-- name: failed_unprinted
-- Rows stored without a fingerprint (see migration 5), a batch at a time.
SELECT id, name, exception, message FROM {{failed_jobs}} WHERE fingerprint IS NULL
LIMIT $1;

-- name: failed_set_fingerprints
UPDATE {{failed_jobs}} f SET fingerprint = v.fp
FROM unnest($1::text[], $2::text[]) AS v(id, fp)
WHERE f.id = v.id;

-- name: worker_beat
-- Workers that died without saying so are forgotten ten ttls later: the table stays small.
WITH gone AS (
    DELETE FROM {{workers}}
    WHERE last_seen + ttl * 10 < date_part('epoch', now()) AND id <> $1
)
INSERT INTO {{workers}} (id, record, last_seen, ttl)
SELECT $1, $2, date_part('epoch', now()), $3 WHERE {{!relaxed}}
ON CONFLICT (id) DO UPDATE SET
    record = excluded.record, last_seen = excluded.last_seen, ttl = excluded.ttl;

-- name: worker_gone
WITH commands AS (
    DELETE FROM {{control}} WHERE key >= 'command:' || $1 || ':' AND key < 'command:' || $1 || ';'
)
DELETE FROM {{workers}} WHERE id = $1;

-- name: worker_command
-- $1, $2: the bounds of the worker's command keys; $3: the new one, which replaces them.
WITH gone AS (DELETE FROM {{control}} WHERE key >= $1 AND key < $2 AND key <> $3)
INSERT INTO {{control}} (key, value) VALUES ($3, date_part('epoch', now()))
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: worker_command_take
DELETE FROM {{control}} WHERE key >= $1 AND key < $2
RETURNING key, value, date_part('epoch', now());

-- name: workers
SELECT record, last_seen FROM {{workers}}
WHERE last_seen + ttl >= date_part('epoch', now())
ORDER BY id;

-- name: pause
INSERT INTO {{control}} (key, value) VALUES ('paused:' || $1, date_part('epoch', now()))
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: resume
WITH d AS (DELETE FROM {{control}} WHERE key = 'paused:' || $1)
SELECT pg_notify({{=channel}}, '0 ' || $1);

-- name: paused
SELECT substr(key, 8) FROM {{control}} WHERE key LIKE 'paused:%';

-- name: signal_restart
INSERT INTO {{control}} (key, value) VALUES ('restart', date_part('epoch', clock_timestamp()))
ON CONFLICT (key) DO UPDATE SET value = excluded.value
RETURNING value;

-- name: claim_vacuum
-- One worker per interval wins the right to vacuum (when autovacuum is off).
INSERT INTO {{control}} AS c (key, value) VALUES ('vacuumed', date_part('epoch', now()))
ON CONFLICT (key) DO UPDATE SET value = excluded.value
WHERE c.value < excluded.value - $1
RETURNING value;

-- name: restart_signal
SELECT value FROM {{control}} WHERE key = 'restart';

-- name: record_throughput
-- Buckets older than $5 seconds (THROUGHPUT_KEPT_S) go.
WITH old AS (DELETE FROM {{throughput}} WHERE minute < $1 - $5::bigint)
INSERT INTO {{throughput}} AS t (minute, queue, processed, failed)
SELECT $1, q, p, f FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS r(q, p, f)
WHERE {{!relaxed}}
ON CONFLICT (minute, queue) DO UPDATE SET
    processed = t.processed + excluded.processed,
    failed = t.failed + excluded.failed;

-- name: throughput
SELECT minute, queue, processed, failed FROM {{throughput}}
WHERE minute >= $1::float8 ORDER BY minute, queue;

-- name: record_timings
-- Minutes older than $7 seconds (THROUGHPUT_KEPT_S) before the newest written go. Rows
-- are sorted so concurrent writers lock them in the same order (no deadlock).
WITH old AS (DELETE FROM {{timings}} WHERE minute < (SELECT max(m) FROM unnest($1::bigint[]) m) - $7::bigint)
INSERT INTO {{timings}} AS t (minute, queue, job, series, bucket, count)
SELECT m, q, j, s::"char", b, n
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::bigint[])
    AS r(m, q, j, s, b, n)
WHERE {{!relaxed}}
ORDER BY m, q, j, s, b
ON CONFLICT (minute, queue, job, series, bucket) DO UPDATE SET count = t.count + excluded.count;

-- name: timings
SELECT minute, queue, job, series::text, bucket, count FROM {{timings}}
WHERE minute >= $1::float8 ORDER BY minute, queue, job, series, bucket;

-- name: events_add
INSERT INTO {{events}} (at, record)
SELECT a, r FROM unnest($1::float8[], $2::text[]) WITH ORDINALITY AS e(a, r, n) ORDER BY n;

-- name: events_trim
-- A statement of its own: it must see the rows just added. Events older than $1 seconds
-- go, and all but the newest $2.
DELETE FROM {{events}}
WHERE at < date_part('epoch', now()) - $1::float8
   OR seq NOT IN (SELECT seq FROM {{events}} ORDER BY at DESC, seq DESC LIMIT $2);

-- name: events_recent
SELECT record FROM {{events}}
WHERE at >= greatest($1::float8, date_part('epoch', now()) - $2::float8)
ORDER BY at DESC, seq DESC LIMIT $3;

-- name: push_unique
-- The function (migration 3) mirrors gello_queue.core.unique.unique_outcome.
SELECT out_id, out_holder FROM {{push_unique}}($1::text[], $2::text[], $3::text[],
    $4::smallint[], $5::float8[], $6::float8[], $7::int[], $8::int[], $9::text[],
    $10::text[], $11::text[], $12::float8[]);

-- name: counter_incr
-- Coordination statements are worker-side ({{!relaxed}}): a database crash may forget
-- the last fraction of a second of counts or locks, which only loosens a limit once.
INSERT INTO {{coordination}} AS c (key, value, expires_at)
SELECT $1, $2, t.now + $3 FROM (SELECT date_part('epoch', now()) AS now) t
WHERE {{!relaxed}}
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN c.expires_at <= date_part('epoch', now()) THEN excluded.value
                 ELSE c.value + excluded.value END,
    expires_at = CASE WHEN c.expires_at <= date_part('epoch', now()) THEN excluded.expires_at
                      ELSE c.expires_at END
RETURNING value;

-- name: lock_acquire
INSERT INTO {{coordination}} AS c (key, owner, expires_at)
SELECT $1, $2, date_part('epoch', now()) + $3 WHERE {{!relaxed}}
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE c.owner = excluded.owner OR c.expires_at <= date_part('epoch', now())
RETURNING owner;

-- name: lock_release
DELETE FROM {{coordination}}
WHERE key = $1 AND owner = $2 AND expires_at > date_part('epoch', now()) AND {{!relaxed}};

-- name: lock_owner
SELECT owner FROM {{coordination}}
WHERE key = $1 AND expires_at > date_part('epoch', now());

-- name: coordination_sweep
DELETE FROM {{coordination}} WHERE key IN (
    SELECT key FROM {{coordination}} WHERE expires_at <= date_part('epoch', now())
    LIMIT 1000 FOR UPDATE SKIP LOCKED
);

-- name: batch_push
-- The batch row and its jobs in one statement (one transaction, one round trip).
WITH b AS (
    INSERT INTO {{batches}} AS t (id, name, total, created_at, options)
    VALUES ($11, $12, $13, date_part('epoch', now()), $14)
    ON CONFLICT (id) DO UPDATE SET total = t.total + excluded.total
    RETURNING id
), ins AS (
    INSERT INTO {{jobs}} (id, queue, name, priority, available_at, created_at, attempts,
                         max_attempts, body)
    SELECT i, q, n, greatest(0, least(5, p)),
           CASE WHEN a <= c THEN least(a, date_part('epoch', now())) ELSE a END,
           c, t, m, b
    FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::float8[],
                $6::float8[], $7::int[], $8::int[], $9::text[])
         AS r(i, q, n, p, a, c, t, m, b)
    WHERE EXISTS (SELECT 1 FROM b)
)
SELECT pg_notify({{=channel}}, note) FROM unnest($10::text[]) AS note;

-- name: batch_mark
-- Once per job: a new mark adds to processed or failed; a failed job that succeeds later
-- moves from failed to processed; a repeated mark changes nothing (no row comes back).
WITH ins AS (
    INSERT INTO {{batch_jobs}} AS m (batch_id, job_id, failed)
    SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM {{batches}} WHERE id = $1)
    ON CONFLICT (batch_id, job_id) DO UPDATE SET failed = false
    WHERE m.failed AND NOT excluded.failed
    RETURNING (xmax = 0) AS fresh
), d AS (
    SELECT CASE WHEN $3 THEN 0 ELSE 1 END AS dp,
           CASE WHEN $3 THEN 1 WHEN NOT i.fresh THEN -1 ELSE 0 END AS df
    FROM ins i
)
UPDATE {{batches}} t
SET processed = t.processed + d.dp,
    failed = t.failed + d.df,
    finished_at = coalesce(t.finished_at, CASE
        WHEN t.processed + d.dp + t.failed + d.df >= t.total
        THEN date_part('epoch', now()) END)
FROM d WHERE t.id = $1
RETURNING t.id, t.name, t.total, t.processed, t.failed, t.created_at, t.finished_at,
          t.cancelled_at, t.options;

-- name: batch_find
SELECT id, name, total, processed, failed, created_at, finished_at, cancelled_at, options,
       ARRAY(SELECT job_id FROM {{batch_jobs}} WHERE batch_id = $1 AND failed ORDER BY job_id)
FROM {{batches}} WHERE id = $1;

-- name: batch_get
SELECT id, name, total, processed, failed, created_at, finished_at, cancelled_at, options
FROM {{batches}} WHERE id = $1;

-- name: batch_list
SELECT id, name, total, processed, failed, created_at, finished_at, cancelled_at, options
FROM {{batches}} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2;

-- name: batch_cancel
UPDATE {{batches}}
SET cancelled_at = CASE WHEN $2 THEN coalesce(cancelled_at, date_part('epoch', now())) END
WHERE id = $1;

-- name: batch_prune
-- A batch ends after it was created: the created_at index bounds the scan.
DELETE FROM {{batches}} WHERE created_at < $1 AND (finished_at < $1 OR cancelled_at < $1);

-- name: result_put
-- Not relaxed: a result must outlive a crash as the job's completion does. The job id is
-- sent on the results channel ($4) at commit, for a waiter's LISTEN.
WITH put AS (
    INSERT INTO {{results}} (id, data, expires_at)
    VALUES ($1, $2, date_part('epoch', now()) + $3)
    ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at
    RETURNING id
)
SELECT pg_notify($4, id) FROM put;

-- name: result_get
SELECT data FROM {{results}}
WHERE id = $1 AND expires_at > date_part('epoch', now());

-- name: result_sweep
DELETE FROM {{results}} WHERE id IN (
    SELECT id FROM {{results}} WHERE expires_at <= date_part('epoch', now())
    LIMIT 1000 FOR UPDATE SKIP LOCKED
);

-- name: progress_put
-- Relaxed: progress is advice a crash may lose; the next report writes it again.
INSERT INTO {{progress}} (id, fraction, message, updated_at, expires_at)
SELECT $1::text, $2::float8, $3::text, $4::float8, date_part('epoch', now()) + $5::float8
WHERE {{!relaxed}}
ON CONFLICT (id) DO UPDATE SET fraction = excluded.fraction, message = excluded.message,
                               updated_at = excluded.updated_at,
                               expires_at = excluded.expires_at;

-- name: progress_get
SELECT id, fraction, message, updated_at FROM {{progress}}
WHERE id = ANY($1::text[]) AND expires_at > date_part('epoch', now());

-- name: progress_sweep
DELETE FROM {{progress}} WHERE id IN (
    SELECT id FROM {{progress}} WHERE expires_at <= date_part('epoch', now())
    LIMIT 1000 FOR UPDATE SKIP LOCKED
);
-- name: ack_recording
-- The ack, and in the same statement the records of the jobs it deleted. $1 ids and $2
-- tokens as for ack; $3..$5 the records' wait_s, runtime_s and finished_at, one per
-- reservation in the same order (NULL for a job without a record); then queue, name,
-- attempts, worker, payload, tags and monitored each as two parameters: the value
-- every record has ($6, $8, $10, $12, $14, $16, $18), or NULL and one value per
-- reservation ($7, $9, $11, $13, $15, $17, $19). A record thus needs no id of its own
-- nor a join of its own, and a value the whole flush shares (its worker, most often its
-- queue and name, no tags) is sent once: asyncpg's encoding of the array elements was
-- most of what the records cost the worker.
-- Returns the lost ids.
WITH a AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[],
                         $7::text[], $9::text[], $11::int[], $13::text[], $15::text[],
                         $17::text[], $19::bool[])
        AS a(id, token, wait_s, runtime_s, finished_at, queue, name, attempts, worker,
             payload, tags, monitored)
), d AS (
    DELETE FROM {{jobs}} j USING a
    WHERE j.id = a.id AND j.token = a.token AND {{!relaxed}}
    RETURNING j.id
), i AS (
    INSERT INTO {{completed}} (id, queue, name, attempts, worker, wait_s, runtime_s,
                               finished_at, payload, tags, monitored)
    SELECT a.id, coalesce(a.queue, $6::text), coalesce(a.name, $8::text),
           coalesce(a.attempts, $10::int), coalesce(a.worker, $12::text), a.wait_s,
           a.runtime_s, a.finished_at, coalesce(a.payload, $14::text),
           coalesce(a.tags, $16::text), coalesce(a.monitored, $18::bool)
    FROM a JOIN d USING (id)
    WHERE a.finished_at IS NOT NULL
)
SELECT a.id FROM a WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = a.id);

-- name: history_record
-- Records of jobs acked elsewhere (a broker's).
INSERT INTO {{completed}} (id, queue, name, attempts, worker, wait_s, runtime_s,
                           finished_at, payload, tags, monitored)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[],
                     $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::text[],
                     $11::bool[]);

-- name: history_trim
-- $1 queue, $2 keep: everything older than the queue's keep-th newest, off the index,
-- but the monitored records (they go by age only).
DELETE FROM {{completed}}
WHERE queue = $1 AND NOT monitored AND finished_at < (
    SELECT finished_at FROM {{completed}} WHERE queue = $1
    ORDER BY finished_at DESC LIMIT 1 OFFSET $2 - 1
);

-- name: history_queues
SELECT DISTINCT queue FROM {{completed}};

-- name: history_counts
SELECT queue, count(*) FROM {{completed}} GROUP BY queue;

-- name: history_prune
-- $1 before, $2 before for the monitored records.
DELETE FROM {{completed}}
WHERE finished_at < CASE WHEN monitored THEN $2::float8 ELSE $1::float8 END;

-- name: history_recent
-- $1 queue or NULL, $2 name or NULL, $3 since, $4 limit, $5 a tag's needle or NULL
-- (core.tags.tag_needle): newest first.
SELECT id, queue, name, attempts, worker, wait_s, runtime_s, finished_at, payload, tags,
       monitored
FROM {{completed}}
WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR name = $2)
  AND finished_at >= $3 AND ($5::text IS NULL OR strpos(tags, $5) > 0)
ORDER BY finished_at DESC, id DESC LIMIT $4;

-- name: tag_monitor
INSERT INTO {{monitored_tags}} (tag, since) VALUES ($1, date_part('epoch', now()))
ON CONFLICT (tag) DO NOTHING;

-- name: tag_unmonitor
DELETE FROM {{monitored_tags}} WHERE tag = $1;

-- name: tags_monitored
SELECT tag FROM {{monitored_tags}} ORDER BY tag;
