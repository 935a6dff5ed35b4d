-- gello schema, version 6: wait and run times per minute, queue and job class.

-- Sparse histograms (gello_queue.core.timing): one row per non-empty bucket. series is
-- w (wait), r (run), p (processed) or f (failed; p and f use bucket 0). Kept as long as
-- the throughput table, and trimmed with it by the workers that write it.
CREATE TABLE {{timings}} (
    minute bigint NOT NULL,
    queue  text COLLATE "C" NOT NULL,
    job    text COLLATE "C" NOT NULL,
    series "char" NOT NULL,
    bucket smallint NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (minute, queue, job, series, bucket)
);
