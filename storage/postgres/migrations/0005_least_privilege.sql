-- Least privilege, monotonic time, checkpoints that name their key, and
-- appends inside the caller's own transaction.
--
-- The caller's transaction: an append no longer has to be the first write
-- of its transaction (IL004 is gone). In a transaction that already has
-- its id, positions continue after those it used, and an append whose
-- streams a newer transaction wrote first is refused (IL008), because its
-- records would otherwise sit before that transaction's in global order.
--
-- Least privilege: the append functions and save_checkpoint run with their
-- owner's rights (SECURITY DEFINER, with a fixed search_path so that a
-- caller cannot slip its own operators or tables in), so the role an
-- application connects as needs only SELECT on the tables and EXECUTE on
-- those functions, and no INSERT, UPDATE, DELETE or TRUNCATE anywhere (see
-- postgres.GrantApp). Nobody but the owner may run a function of the
-- schema until it is granted.
--
-- Monotonic time: an append whose time (from the writer's clock) is
-- earlier than the time of a written stream's head is refused with IL007
-- and a JSON detail {"stream","head","clock"}, so that a stream's times
-- never run backwards.
--
-- Positions: no event may sit at a position below 1, which no read covers.
-- Only the append functions write events, and they assign positions from
-- the transaction id; a row planted at another position by the owner is
-- found by storage.Verify, which reconciles what it read with Heads.
--
-- Genealogy's derived tables become append-only like the events.

ALTER TABLE {schema}.events ADD CONSTRAINT events_position_positive CHECK (position > 0);

ALTER TABLE {schema}.checkpoints ADD COLUMN key_id text NOT NULL DEFAULT '';

-- late_base returns where an append's positions start: the transaction
-- id times 16384 and, for an append in a transaction that already had its
-- id (p_late: the caller's own transaction, after its own writes or an
-- earlier append), after the positions this transaction already used.
-- It raises IL005 when the transaction would hold 16384 events or more.
CREATE FUNCTION {schema}.late_base(p_late boolean, p_n integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_xid  bigint := (pg_current_xact_id()::text)::bigint * 16384;
    v_next bigint := 0;
BEGIN
    IF p_late THEN
        SELECT coalesce(max(e.position) - v_xid + 1, 0) INTO v_next
        FROM {schema}.events e WHERE e.position >= v_xid AND e.position < v_xid + 16384;
    END IF;
    IF v_next + p_n >= 16384 THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: %s events in one transaction, want at most 16383', v_next + p_n);
    END IF;
    RETURN v_xid + v_next;
END
$fn$;

-- check_late refuses an append in a transaction that had its id before it
-- took its locks, when a stream it writes or reads holds a record at or
-- past p_base: a transaction that took its id later wrote that stream
-- first, and this append's records would come before it in global order
-- (IL008, the stream's name in the detail). Retrying the whole
-- transaction gives it a new id.
CREATE FUNCTION {schema}.check_late(p_base bigint, p_streams text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_stream text;
BEGIN
    SELECT u.s INTO v_stream FROM unnest(p_streams) AS u(s)
    JOIN LATERAL (
        SELECT e.position FROM {schema}.events e WHERE e.stream = u.s ORDER BY e.version DESC LIMIT 1
    ) h ON true
    WHERE h.position >= p_base LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'IL008',
            MESSAGE = 'interlock: a newer transaction wrote the stream first; retry the transaction',
            DETAIL = v_stream;
    END IF;
END
$fn$;

-- refuse_append raises the error of a single-stream append whose insert
-- found the stream not at p_expected (IL001) or with a head later than
-- p_time (IL007).
CREATE FUNCTION {schema}.refuse_append(p_stream text, p_expected bigint, p_time timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_version bigint;
    v_time    timestamptz;
BEGIN
    SELECT e.version, e.time INTO v_version, v_time FROM {schema}.events e WHERE e.stream = p_stream
    ORDER BY e.version DESC LIMIT 1;
    v_version := coalesce(v_version, 0);
    IF v_version = p_expected AND v_time > p_time THEN
        RAISE EXCEPTION USING ERRCODE = 'IL007',
            MESSAGE = 'interlock: the clock reads earlier than the stream''s head',
            DETAIL = json_build_object('stream', p_stream, 'head', v_time, 'clock', p_time)::text;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'IL001',
        MESSAGE = 'interlock: version conflict',
        DETAIL = json_build_object('stream', p_stream, 'expected', p_expected, 'actual', v_version)::text;
END
$fn$;

CREATE OR REPLACE FUNCTION {schema}.append(
    p_key             text,
    p_digest          bytea,
    p_streams         text[],
    p_expected        bigint[],
    p_genesis         bytea[],
    p_reads           text[],
    p_read_versions   bigint[],
    p_time            timestamptz,
    p_ev_stream       integer[],
    p_ev_version      bigint[],
    p_types           text[],
    p_actors          text[],
    p_payloads        text[],
    p_evidence        text[],
    p_canonical       bytea[],
    p_link_event      integer[],
    p_link_ord        integer[],
    p_link_from       text[],
    p_link_to         text[],
    p_link_kind       text[]
) RETURNS TABLE (out_position bigint, out_prev_hash bytea, out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    -- Lock keys hash the stream with a seed of this schema (the oid of the
    -- events row type), so that streams of the same name in two schemas do
    -- not wait for each other. Two streams whose keys collide only wait for
    -- each other; no check depends on keys being distinct.
    v_seed      bigint;
    v_n         integer;
    v_base      bigint;
    v_late      boolean;
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_versions  bigint[];
    v_heads     bytea[];
    v_times     timestamptz[];
    v_prevs     bytea[];
    v_hashes    bytea[];
    v_lock      bigint;
    v_exclusive boolean;
    v_stream    text;
    v_expected  bigint;
    v_version   bigint;
    k           integer;
BEGIN
    -- The caller's transaction may have written before (its own tables,
    -- or an earlier append): it has its id already, and positions come
    -- from it (see late_base).
    v_late := pg_current_xact_id_if_assigned() IS NOT NULL;
    -- The checks read heads with a snapshot taken after the locks; a
    -- transaction-wide snapshot could predate an append that held them.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'IL006',
            MESSAGE = format('interlock: append needs READ COMMITTED isolation, not %s', upper(current_setting('transaction_isolation')));
    END IF;
    v_n := cardinality(p_types);
    IF v_n < 1 OR v_n >= 16384 OR cardinality(p_streams) < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: %s events on %s streams in one append, want 1..16383 on at least one', v_n, cardinality(p_streams));
    END IF;

    -- The store's lock first, then the streams' in the order of their
    -- keys, so that appends never deadlock each other; a key both written
    -- and read (a collision) is locked exclusively. Streams and reads hold
    -- no duplicates (storage.Prepare refuses them), so their count is the
    -- number of locks.
    v_seed := pg_typeof(NULL::{schema}.events)::oid::bigint;
    IF cardinality(p_streams) + cardinality(p_reads) > 64 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('', v_seed));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('', v_seed));
        FOR v_lock, v_exclusive IN
            SELECT u.k, bool_or(u.w) FROM (
                SELECT hashtextextended(s, v_seed), true FROM unnest(p_streams) AS s
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

    -- The transaction id, and so the positions, only now.
    v_base := {schema}.late_base(v_late, v_n);

    IF p_key IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (key, digest, first_position, count)
        VALUES (p_key, p_digest, v_base, v_n)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            -- The conflicting insert has committed (ON CONFLICT waited for
            -- it), so this statement's snapshot sees it. A key holder
            -- already holds all its locks, so this wait cannot deadlock.
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

    -- A stream's head is its last event. Streams are checked in request
    -- order, as the memory store does, so both name the same stream when
    -- several are stale.
    SELECT array_agg(coalesce(h.version, 0) ORDER BY u.i), array_agg(coalesce(h.hash, p_genesis[u.i]) ORDER BY u.i),
        array_agg(h.time ORDER BY u.i)
    INTO v_versions, v_heads, v_times
    FROM unnest(p_streams) WITH ORDINALITY AS u(s, i)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash, e.time FROM {schema}.events e WHERE e.stream = u.s
        ORDER BY e.version DESC LIMIT 1
    ) h ON true;
    FOR k IN 1..cardinality(p_streams) LOOP
        IF v_versions[k] <> p_expected[k] THEN
            RAISE EXCEPTION USING ERRCODE = 'IL001',
                MESSAGE = 'interlock: version conflict',
                DETAIL = json_build_object('stream', p_streams[k], 'expected', p_expected[k], 'actual', v_versions[k])::text;
        END IF;
    END LOOP;
    -- Time never runs backwards within a stream.
    FOR k IN 1..cardinality(p_streams) LOOP
        IF v_times[k] > p_time THEN
            RAISE EXCEPTION USING ERRCODE = 'IL007',
                MESSAGE = 'interlock: the clock reads earlier than the stream''s head',
                DETAIL = json_build_object('stream', p_streams[k], 'head', v_times[k], 'clock', p_time)::text;
        END IF;
    END LOOP;
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

    IF v_late THEN
        PERFORM {schema}.check_late(v_base, p_streams || p_reads);
    END IF;

    v_prevs := '{}';
    v_hashes := '{}';
    FOR i IN 1..v_n LOOP
        k := p_ev_stream[i];
        IF k IS NULL OR k < 1 OR k > cardinality(p_streams) OR p_ev_version[i] IS DISTINCT FROM v_versions[k] + 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'IL005',
                MESSAGE = format('interlock: event %s names stream %s at version %s; want version %s', i, k, p_ev_version[i], v_versions[k] + 1);
        END IF;
        v_versions[k] := p_ev_version[i];
        v_prevs[i] := v_heads[k];
        v_heads[k] := sha256(v_heads[k] || p_canonical[i]);
        v_hashes[i] := v_heads[k];
    END LOOP;

    INSERT INTO {schema}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
    SELECT v_base + u.o - 1, u.ver, p_time, p_streams[u.st], u.ty, u.ac, u.pr, u.h, u.pl, u.ev
    FROM unnest(p_ev_stream, p_ev_version, p_types, p_actors, p_payloads, p_evidence, v_prevs, v_hashes)
        WITH ORDINALITY AS u(st, ver, ty, ac, pl, ev, pr, h, o);
    IF cardinality(p_link_event) > 0 THEN
        INSERT INTO {schema}.links (position, ord, stream, version, from_id, to_id, kind)
        SELECT v_base + u.e - 1, u.ord, p_streams[p_ev_stream[u.e]], p_ev_version[u.e], u.f, u.t, u.k
        FROM unnest(p_link_event, p_link_ord, p_link_from, p_link_to, p_link_kind) AS u(e, ord, f, t, k);
    END IF;
    -- Positions and hashes are known here; nothing is read back.
    out_replayed := false;
    FOR i IN 1..v_n LOOP
        out_position := v_base + i - 1;
        out_prev_hash := v_prevs[i];
        out_hash := v_hashes[i];
        RETURN NEXT;
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION {schema}.append_one(
    p_stream    text,
    p_expected  bigint,
    p_genesis   bytea,
    p_time      timestamptz,
    p_type      text,
    p_actor     text,
    p_payload   text,
    p_evidence  text,
    p_canonical bytea,
    OUT out_position  bigint,
    OUT out_prev_hash bytea,
    OUT out_hash      bytea
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_late boolean;
    v_base bigint;
BEGIN
    -- The caller's transaction may have written before (its own tables,
    -- or an earlier append): it has its id already, and positions come
    -- from it (see late_base).
    v_late := pg_current_xact_id_if_assigned() IS NOT NULL;
    -- The same locks as append's, and taken before the transaction id.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint));
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, pg_typeof(NULL::{schema}.events)::oid::bigint));
    v_base := {schema}.late_base(v_late, 1);
    IF v_late THEN
        PERFORM {schema}.check_late(v_base, ARRAY[p_stream]);
    END IF;
    INSERT INTO {schema}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
    SELECT v_base, p_expected + 1, p_time, p_stream, p_type, p_actor,
        coalesce(h.hash, p_genesis), sha256(coalesce(h.hash, p_genesis) || p_canonical), p_payload, p_evidence
    FROM (VALUES (1)) AS one(x)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash, e.time FROM {schema}.events e WHERE e.stream = p_stream
        ORDER BY e.version DESC LIMIT 1
    ) h ON true
    WHERE coalesce(h.version, 0) = p_expected AND (h.time IS NULL OR h.time <= p_time)
    RETURNING position, prev_hash, hash INTO out_position, out_prev_hash, out_hash;
    IF NOT FOUND THEN
        PERFORM {schema}.refuse_append(p_stream, p_expected, p_time);
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION {schema}.append_keyed(
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_seed      bigint := pg_typeof(NULL::{schema}.events)::oid::bigint;
    v_late      boolean;
    v_base      bigint;
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_lock      bigint;
    v_exclusive boolean;
    v_stream    text;
    v_expected  bigint;
    v_version   bigint;
BEGIN
    -- The caller's transaction may have written before (its own tables,
    -- or an earlier append): it has its id already, and positions come
    -- from it (see late_base).
    v_late := pg_current_xact_id_if_assigned() IS NOT NULL;
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

    v_base := {schema}.late_base(v_late, 1);
    IF v_late THEN
        PERFORM {schema}.check_late(v_base, p_stream || p_reads);
    END IF;

    IF p_key IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (key, digest, first_position, count)
        VALUES (p_key, p_digest, v_base, 1)
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
        SELECT v_base, p_expected + 1, p_time, p_stream, p_type, p_actor,
            coalesce(h.hash, p_genesis), sha256(coalesce(h.hash, p_genesis) || p_canonical), p_payload, p_evidence
        FROM (VALUES (1)) AS one(x)
        LEFT JOIN LATERAL (
            SELECT e.version, e.hash, e.time FROM {schema}.events e WHERE e.stream = p_stream
            ORDER BY e.version DESC LIMIT 1
        ) h ON true
        WHERE coalesce(h.version, 0) = p_expected AND (h.time IS NULL OR h.time <= p_time)
        RETURNING n.position, n.prev_hash, n.hash, false;
    IF NOT FOUND THEN
        PERFORM {schema}.refuse_append(p_stream, p_expected, p_time);
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

-- save_checkpoint stores a signed checkpoint; false when one is already
-- stored at its position (checkpoints are append-only).
CREATE FUNCTION {schema}.save_checkpoint(
    p_position  bigint,
    p_time      timestamptz,
    p_heads     jsonb,
    p_key_id    text,
    p_signature bytea
) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO {schema}.checkpoints (position, time, heads, key_id, signature)
    VALUES (p_position, p_time, p_heads, p_key_id, p_signature)
    ON CONFLICT (position) DO NOTHING;
    RETURN FOUND;
END
$fn$;

-- pgwalk's closure cache is written through these two functions, so that
-- the application role needs no INSERT or UPDATE on any table. What they
-- store is the caller's walk: a cache that pgwalk.Walker.Verify checks
-- against the edges, never a record. A closure replaces another only when
-- its snapshot is not older; a dictionary replaces a smaller one only.
CREATE FUNCTION {schema}.genealogy_store_closure(
    p_root integer, p_backward boolean, p_snap text, p_edges integer, p_refs bytea
) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    INSERT INTO {schema}.genealogy_closures AS c (root, backward, snap, edges, refs)
    VALUES (p_root, p_backward, p_snap::pg_snapshot, p_edges, p_refs)
    ON CONFLICT (root, backward) DO UPDATE SET snap = excluded.snap, edges = excluded.edges, refs = excluded.refs
    WHERE pg_snapshot_xmin(c.snap) <= pg_snapshot_xmin(excluded.snap)
$fn$;

CREATE FUNCTION {schema}.genealogy_store_dict(p_root integer, p_backward boolean, p_resolved bytea) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    UPDATE {schema}.genealogy_closures SET resolved = p_resolved
    WHERE root = p_root AND backward = p_backward AND (resolved IS NULL OR octet_length(resolved) < octet_length(p_resolved))
$fn$;

CREATE TRIGGER genealogy_nodes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.genealogy_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER genealogy_kinds_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.genealogy_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER genealogy_edges_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.genealogy_edges
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER genealogy_resolved_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.genealogy_resolved
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();

-- Functions are executable by PUBLIC unless revoked.
REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
