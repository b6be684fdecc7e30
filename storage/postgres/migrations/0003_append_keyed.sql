-- append_keyed is append for an engine's common case: one event on one
-- stream, without links, with an idempotency key, asserted reads, or both
-- (a gated transition asserts the versions of the person, lot and
-- equipment streams its gates read). Like append_one it takes scalars for
-- the event instead of twenty arrays and keeps its body to a few
-- statements: append's general path made such appends run at about 60% of
-- append_one's rate with 8 writers.
--
-- It does what append does, in the same order and with the same errors:
-- the store's lock shared, then the stream's lock exclusive and the reads'
-- shared in the order of their keys (the caller keeps reads to at most 63,
-- so the whole store is never locked here); the transaction id; the key,
-- replaying the first append's positions when it was used with the same
-- digest (IL002 with another); the insert, which checks the stream's
-- version (IL001); the reads' versions (IL001). IL004 when the transaction
-- already holds an append, IL006 unless READ COMMITTED.
CREATE FUNCTION {schema}.append_keyed(
    p_stream        text,
    p_expected      bigint,
    p_genesis       bytea,
    p_time          timestamptz,
    p_type          text,
    p_actor         text,
    p_payload       text,
    p_evidence      text,
    p_canonical     bytea,
    p_key           text,
    p_digest        bytea,
    p_reads         text[],
    p_read_versions bigint[]
) RETURNS TABLE (out_position bigint, out_prev_hash bytea, out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_seed      bigint := pg_typeof(NULL::{schema}.events)::oid::bigint;
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_lock      bigint;
    v_exclusive boolean;
    v_stream    text;
    v_expected  bigint;
    v_version   bigint;
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'IL004',
            MESSAGE = 'interlock: append must be the first write of its transaction';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'IL006',
            MESSAGE = format('interlock: append needs READ COMMITTED isolation, not %s', upper(current_setting('transaction_isolation')));
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('', v_seed));
    IF cardinality(p_reads) = 0 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, v_seed));
    ELSE
        FOR v_lock, v_exclusive IN
            SELECT u.k, bool_or(u.w) FROM (
                SELECT hashtextextended(p_stream, v_seed), true
                UNION ALL
                SELECT hashtextextended(s, v_seed), false FROM unnest(p_reads) AS s
            ) AS u(k, w)
            GROUP BY u.k ORDER BY u.k
        LOOP
            IF v_exclusive THEN
                PERFORM pg_advisory_xact_lock(v_lock);
            ELSE
                PERFORM pg_advisory_xact_lock_shared(v_lock);
            END IF;
        END LOOP;
    END IF;

    IF p_key IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (key, digest, first_position, count)
        VALUES (p_key, p_digest, (pg_current_xact_id()::text)::bigint * 16384, 1)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT * INTO STRICT v_key FROM {schema}.idempotency_keys WHERE key = p_key;
            IF v_key.digest <> p_digest THEN
                RAISE EXCEPTION USING ERRCODE = 'IL002',
                    MESSAGE = 'interlock: idempotency key reused with different content',
                    DETAIL = p_key;
            END IF;
            RETURN QUERY
                SELECT e.position, e.prev_hash, e.hash, true
                FROM {schema}.events e
                WHERE e.position >= v_key.first_position AND e.position < v_key.first_position + v_key.count
                ORDER BY e.position;
            RETURN;
        END IF;
    END IF;

    RETURN QUERY
        INSERT INTO {schema}.events AS n (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
        SELECT (pg_current_xact_id()::text)::bigint * 16384, p_expected + 1, p_time, p_stream, p_type, p_actor,
            coalesce(h.hash, p_genesis), sha256(coalesce(h.hash, p_genesis) || p_canonical), p_payload, p_evidence
        FROM (VALUES (1)) AS one(x)
        LEFT JOIN LATERAL (
            SELECT e.version, e.hash FROM {schema}.events e WHERE e.stream = p_stream
            ORDER BY e.version DESC LIMIT 1
        ) h ON true
        WHERE coalesce(h.version, 0) = p_expected
        RETURNING n.position, n.prev_hash, n.hash, false;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'IL001',
            MESSAGE = 'interlock: version conflict',
            DETAIL = json_build_object('stream', p_stream, 'expected', p_expected,
                'actual', (SELECT coalesce(max(e.version), 0) FROM {schema}.events e WHERE e.stream = p_stream))::text;
    END IF;
    -- The reads after the stream, as append checks them; a stale one
    -- raises, which undoes the insert.
    IF cardinality(p_reads) > 0 THEN
        SELECT u.s, u.v, coalesce(h.version, 0) INTO v_stream, v_expected, v_version
        FROM unnest(p_reads, p_read_versions) WITH ORDINALITY AS u(s, v, i)
        LEFT JOIN LATERAL (
            SELECT e.version FROM {schema}.events e WHERE e.stream = u.s
            ORDER BY e.version DESC LIMIT 1
        ) h ON true
        WHERE coalesce(h.version, 0) <> u.v
        ORDER BY u.i LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'IL001',
                MESSAGE = 'interlock: version conflict',
                DETAIL = json_build_object('stream', v_stream, 'expected', v_expected, 'actual', v_version)::text;
        END IF;
    END IF;
END
$fn$;
