-- Appends stop writing a stream-head row: a stream's head is its event with
-- the highest version, found through the (stream, version) index. Each head
-- update cost a row lock and an update in the WAL of every append, about as
-- much as the event row's indexes. Writers of a stream are serialised by a
-- transaction-scoped advisory lock on the stream, which is held in memory
-- and writes nothing; asserted reads take it shared.
--
-- The events table is rebuilt without the xid column (position / 16384 is
-- the transaction id) and with its fixed-width columns first, so that no
-- alignment padding sits between them. Dropping a column in place would
-- leave it in every new row's null bitmap, which costs as much as it saves.

DROP FUNCTION {schema}.append(text, bytea, text[], bigint[], bytea[], text[], bigint[], timestamptz,
    integer[], bigint[], text[], text[], text[], text[], bytea[], integer[], integer[], text[], text[], text[]);
DROP TABLE {schema}.streams;

ALTER TABLE {schema}.events RENAME TO events_0001;
ALTER TABLE {schema}.events_0001 RENAME CONSTRAINT events_pkey TO events_0001_pkey;
ALTER TABLE {schema}.events_0001 RENAME CONSTRAINT events_stream_version_key TO events_0001_stream_version_key;

-- Events. position = xid * 16384 + index within the append: positions follow
-- transaction ids, so ReadAll can return exactly the events of transactions
-- below the snapshot's xmin and never skip one that commits later.
-- payload and evidence are TEXT holding the exact canonical JSON that was
-- hashed (jsonb would normalise it and break the hash). The unique
-- (stream, version) index finds a stream's head, loads a stream, and
-- refuses a second event at one version if two writers ever get past the
-- lock (the append maps that to a conflict).
CREATE TABLE {schema}.events (
    position  bigint PRIMARY KEY,
    version   bigint NOT NULL,
    time      timestamptz NOT NULL,
    stream    text COLLATE "C" NOT NULL,
    type      text NOT NULL,
    actor     text NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL,
    payload   text NOT NULL,
    evidence  text NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream, version)
);

INSERT INTO {schema}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
SELECT position, version, time, stream, type, actor, prev_hash, hash, payload, evidence
FROM {schema}.events_0001 ORDER BY position;

DROP TABLE {schema}.events_0001;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();

-- append does a whole Store.Append in one call, so one round trip. Streams
-- are indexed 1..n in request order; events carry the index of their
-- stream, their version (expected + i, checked here) and the canonical
-- encoding the Go side made with audit.Encode; links carry the index of
-- their event and their order within it.
--
-- It raises IL001 with a JSON detail {"stream","expected","actual"} on a
-- stale version, IL002 when the key was used with another digest, IL004
-- when the transaction already holds an append, IL005 for arrays that do
-- not fit together, and IL006 outside READ COMMITTED. On a replay it
-- returns the first append's positions and hashes with replayed = true.
--
-- Writers of a stream are serialised by a transaction-scoped advisory lock
-- on it (written streams exclusive, asserted reads shared), taken before
-- the transaction gets its id. So a transaction that waited for another's
-- lock gets a higher id, and positions follow the order in which appends
-- held their streams: a stream's versions ascend with their positions, and
-- a read asserted at version v sits between versions v and v+1 of the read
-- stream. The locks live in memory and write no WAL. Each statement after
-- them takes a new snapshot (READ COMMITTED), which sees every append that
-- held them before.
--
-- Advisory locks take slots in Postgres' shared lock table, which holds
-- about max_locks_per_transaction (64 by default) per connection, so an
-- append of thousands of streams would exhaust it. Every append therefore
-- first locks the whole store, under the key of the empty stream id, which
-- no stream has: shared when it then locks its streams, or exclusively
-- instead of them when it has more than 64 (written and read). A large
-- append thus waits for the appends under way and holds the others off.
CREATE FUNCTION {schema}.append(
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
LANGUAGE plpgsql AS $fn$
DECLARE
    -- Lock keys hash the stream with a seed of this schema (the oid of the
    -- events row type), so that streams of the same name in two schemas do
    -- not wait for each other. Two streams whose keys collide only wait for
    -- each other; no check depends on keys being distinct.
    v_seed      bigint;
    v_n         integer;
    v_base      bigint;
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_versions  bigint[];
    v_heads     bytea[];
    v_prevs     bytea[];
    v_hashes    bytea[];
    v_lock      bigint;
    v_exclusive boolean;
    v_stream    text;
    v_expected  bigint;
    v_version   bigint;
    k           integer;
BEGIN
    -- Positions come from the transaction id, so two appends in one
    -- transaction would collide.
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'IL004',
            MESSAGE = 'interlock: append must be the first write of its transaction';
    END IF;
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
    v_base := (pg_current_xact_id()::text)::bigint * 16384;

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
    SELECT array_agg(coalesce(h.version, 0) ORDER BY u.i), array_agg(coalesce(h.hash, p_genesis[u.i]) ORDER BY u.i)
    INTO v_versions, v_heads
    FROM unnest(p_streams) WITH ORDINALITY AS u(s, i)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM {schema}.events e WHERE e.stream = u.s
        ORDER BY e.version DESC LIMIT 1
    ) h ON true;
    FOR k IN 1..cardinality(p_streams) LOOP
        IF v_versions[k] <> p_expected[k] THEN
            RAISE EXCEPTION USING ERRCODE = 'IL001',
                MESSAGE = 'interlock: version conflict',
                DETAIL = json_build_object('stream', p_streams[k], 'expected', p_expected[k], 'actual', v_versions[k])::text;
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

-- append_one is append for its common case: one event on one stream,
-- without reads, key or links. Scalar arguments cost less to send and
-- receive than twenty arrays, and PL/pgSQL prepares every expression anew in
-- each transaction, so the body is short: the lock, then one statement that
-- reads the head, checks it, chains the hash and inserts.
--
-- Under READ COMMITTED the insert's snapshot is taken after the lock and
-- sees the head every earlier holder wrote; under an older snapshot a stale
-- head makes the insert collide with the version already taken (SQLSTATE
-- 23505), which is a conflict too. It raises IL001 on a stale version and
-- IL004 when the transaction already holds an append.
CREATE FUNCTION {schema}.append_one(
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
LANGUAGE plpgsql AS $fn$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'IL004',
            MESSAGE = 'interlock: append must be the first write of its transaction';
    END IF;
    -- The same locks as append's, and taken before the transaction id.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint));
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, pg_typeof(NULL::{schema}.events)::oid::bigint));
    INSERT INTO {schema}.events (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
    SELECT (pg_current_xact_id()::text)::bigint * 16384, p_expected + 1, p_time, p_stream, p_type, p_actor,
        coalesce(h.hash, p_genesis), sha256(coalesce(h.hash, p_genesis) || p_canonical), p_payload, p_evidence
    FROM (VALUES (1)) AS one(x)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM {schema}.events e WHERE e.stream = p_stream
        ORDER BY e.version DESC LIMIT 1
    ) h ON true
    WHERE coalesce(h.version, 0) = p_expected
    RETURNING position, prev_hash, hash INTO out_position, out_prev_hash, out_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'IL001',
            MESSAGE = 'interlock: version conflict',
            DETAIL = json_build_object('stream', p_stream, 'expected', p_expected,
                'actual', (SELECT coalesce(max(e.version), 0) FROM {schema}.events e WHERE e.stream = p_stream))::text;
    END IF;
END
$fn$;
