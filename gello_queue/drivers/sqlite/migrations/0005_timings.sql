-- gello SQLite schema, version 5: wait and run times per minute, queue and job class.

-- Sparse histograms (gello_queue.core.timing): one row per non-empty bucket. series is
-- w (wait), r (run), p (processed) or f (failed; p and f use bucket 0). Kept as long as
-- gello_throughput, and trimmed with it by the workers that write it.
CREATE TABLE IF NOT EXISTS gello_timings (
    minute INTEGER NOT NULL,
    queue  TEXT NOT NULL,
    job    TEXT NOT NULL,
    series TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (minute, queue, job, series, bucket)
) WITHOUT ROWID;
