-- gello schema, version 2: unique-lock expiry and modes, coordination state, batches.

-- When a job's unique lock stops counting (unique_for), by the database clock.
ALTER TABLE {{jobs}} ADD COLUMN unique_until double precision;

-- Counters ('c:' keys) and locks ('l:' keys) shared by workers: rate limits, overlap
-- locks, once-only claims. Expired rows are swept now and then by the driver.
CREATE TABLE {{coordination}} (
    key        text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL DEFAULT '',
    value      bigint NOT NULL DEFAULT 0,
    expires_at double precision NOT NULL
);
CREATE INDEX {{@coordination_expires}} ON {{coordination}} (expires_at);

CREATE TABLE {{batches}} (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    total        integer NOT NULL,
    processed    integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    created_at   double precision NOT NULL,
    finished_at  double precision,
    cancelled_at double precision,
    options      text NOT NULL
);
CREATE INDEX {{@batches_created}} ON {{batches}} (created_at, id);

-- One row per job of a batch that ran to an end: marks are idempotent per job.
CREATE TABLE {{batch_jobs}} (
    batch_id text COLLATE "C" NOT NULL REFERENCES {{batches}} (id) ON DELETE CASCADE,
    job_id   text COLLATE "C" NOT NULL,
    failed   boolean NOT NULL,
    PRIMARY KEY (batch_id, job_id)
);

-- Pushes with unique keys, one transaction and one round trip: each key's holder is
-- locked, then kept (the new job folds into it), dropped (debounce of a job that has
-- not started) or unlocked (debounce of a started job, "processing" mode once it
-- started, an expired lock), and the new job inserted. Returns (id, representing id).
CREATE FUNCTION {{push_unique}}(
    p_ids text[], p_queues text[], p_names text[], p_prios smallint[], p_avail float8[],
    p_created float8[], p_attempts int[], p_maxes int[], p_bodies text[], p_keys text[],
    p_modes text[], p_fors float8[]
) RETURNS TABLE (out_id text, out_holder text) LANGUAGE plpgsql AS $$
DECLARE
    i int;
    h record;
    now_s float8 := date_part('epoch', now());
    at float8;
    got text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        out_id := p_ids[i];
        out_holder := NULL;
        LOOP
            IF p_keys[i] IS NOT NULL THEN
                SELECT j.id AS hid, j.token IS NOT NULL AS started, j.unique_until AS until
                INTO h FROM {{jobs}} j WHERE j.unique_key = p_keys[i] FOR UPDATE;
                IF FOUND THEN
                    IF p_modes[i] = 'debounce' AND NOT h.started THEN
                        DELETE FROM {{jobs}} j WHERE j.id = h.hid;
                    ELSIF p_modes[i] = 'debounce'
                       OR (p_modes[i] = 'processing' AND h.started)
                       OR (h.until IS NOT NULL AND h.until <= now_s) THEN
                        UPDATE {{jobs}} j SET unique_key = NULL, unique_until = NULL
                        WHERE j.id = h.hid;
                    ELSE
                        out_holder := h.hid;
                        EXIT;
                    END IF;
                END IF;
            END IF;
            at := CASE WHEN p_avail[i] <= p_created[i] THEN least(p_avail[i], now_s)
                       ELSE p_avail[i] END;
            got := NULL;
            INSERT INTO {{jobs}} AS j (id, queue, name, priority, available_at, created_at,
                                       attempts, max_attempts, body, unique_key, unique_until)
            VALUES (p_ids[i], p_queues[i], p_names[i], greatest(0, least(5, p_prios[i])), at,
                    p_created[i], p_attempts[i], p_maxes[i], p_bodies[i], p_keys[i],
                    now_s + p_fors[i])
            ON CONFLICT DO NOTHING
            RETURNING j.id INTO got;
            IF got IS NOT NULL THEN
                PERFORM pg_notify({{=channel}}, at::text || ' ' || p_queues[i]);
                out_holder := got;
                EXIT;
            END IF;
            -- A conflict: this id was stored before (a re-sent push), or a concurrent
            -- push took the key and committed: look again.
            IF p_keys[i] IS NULL OR EXISTS (SELECT 1 FROM {{jobs}} j WHERE j.id = p_ids[i]) THEN
                out_holder := p_ids[i];
                EXIT;
            END IF;
        END LOOP;
        RETURN NEXT;
    END LOOP;
END
$$;
