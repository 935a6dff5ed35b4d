-- gello schema, version 3: a unique lock whose unique_for ran out holds nothing, whatever
-- the mode, as on Redis (where the lock's PX removes it): version 2 let a debounce delete
-- a waiting holder whose lock had expired.

-- Pushes with unique keys, one transaction and one round trip: each key's holder is
-- locked, then kept, dropped or unlocked as gello_queue.core.unique.unique_outcome
-- decides (fold, supersede, take; held to it by the contract suite), and the new job
-- inserted. Returns (id, representing id).
CREATE OR REPLACE FUNCTION {{push_unique}}(
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
                    IF h.until IS NOT NULL AND h.until <= now_s THEN
                        -- take: an expired lock holds nothing
                        UPDATE {{jobs}} j SET unique_key = NULL, unique_until = NULL
                        WHERE j.id = h.hid;
                    ELSIF p_modes[i] = 'debounce' AND NOT h.started THEN
                        -- supersede
                        DELETE FROM {{jobs}} j WHERE j.id = h.hid;
                    ELSIF p_modes[i] = 'debounce'
                       OR (p_modes[i] = 'processing' AND h.started) THEN
                        -- take
                        UPDATE {{jobs}} j SET unique_key = NULL, unique_until = NULL
                        WHERE j.id = h.hid;
                    ELSE
                        -- fold
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
