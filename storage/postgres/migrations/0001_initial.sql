-- The record: events, their link index, stream heads, idempotency keys and
-- signed checkpoints. {schema} is replaced by the quoted schema name.

-- Stream heads: the row an append locks to serialise writers of a stream.
-- A row with version 0 exists for a stream that was only read (asserted at
-- version 0) and never written.
CREATE TABLE {schema}.streams (
    stream  text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL DEFAULT 0,
    hash    bytea
);

-- Events. position = xid * 16384 + index within the append: positions follow
-- transaction ids, so ReadAll can return exactly the events of transactions
-- below the snapshot's xmin and never skip one that commits later.
-- payload and evidence are TEXT holding the exact canonical JSON that was
-- hashed (jsonb would normalise it and break the hash).
CREATE TABLE {schema}.events (
    position  bigint PRIMARY KEY,
    stream    text COLLATE "C" NOT NULL,
    version   bigint NOT NULL,
    type      text NOT NULL,
    actor     text NOT NULL,
    time      timestamptz NOT NULL,
    payload   text NOT NULL,
    evidence  text NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL,
    xid       xid8 NOT NULL,
    UNIQUE (stream, version)
);

-- Links, one row per link of an event, in the writer's order (ord), indexed
-- both ways so that one traversal level is one indexed query.
CREATE TABLE {schema}.links (
    position bigint NOT NULL,
    ord      integer NOT NULL,
    stream   text COLLATE "C" NOT NULL,
    version  bigint NOT NULL,
    from_id  text COLLATE "C" NOT NULL,
    to_id    text COLLATE "C" NOT NULL,
    kind     text COLLATE "C" NOT NULL,
    PRIMARY KEY (position, ord)
);
CREATE INDEX links_from_idx ON {schema}.links (from_id);
CREATE INDEX links_to_idx ON {schema}.links (to_id);

-- Idempotency keys, written in the same transaction as the events: an append
-- writes count events at positions first_position, first_position+1, ...
CREATE TABLE {schema}.idempotency_keys (
    key            text COLLATE "C" PRIMARY KEY,
    digest         bytea NOT NULL,
    first_position bigint NOT NULL,
    count          integer NOT NULL
);

-- Signed checkpoints; heads as a JSON array of {stream, version, hash}.
CREATE TABLE {schema}.checkpoints (
    position  bigint PRIMARY KEY,
    time      timestamptz NOT NULL,
    heads     jsonb NOT NULL,
    signature bytea NOT NULL
);

-- Append-only: a statement trigger fires even when no row matches, and also
-- covers TRUNCATE, which row triggers do not see.
CREATE FUNCTION {schema}.reject_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'IL003',
        MESSAGE = format('interlock: %s on %I is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME);
END
$fn$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER links_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.links
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER idempotency_keys_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.idempotency_keys
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();

-- append does a whole Store.Append in one call, so one round trip. Streams
-- are indexed 1..n in request order; events carry the index of their
-- stream, their version (expected + i, checked here) and the canonical
-- encoding the Go side made with audit.Encode; links carry the index of
-- their event and their order within it.
--
-- It raises IL001 with a JSON detail {"stream","expected","actual"} on a
-- stale version, IL002 when the key was used with another digest, and
-- IL004 when the transaction already holds an append. On a replay it
-- returns the first append's positions and hashes with replayed = true.
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
    v_n         integer := cardinality(p_types);
    v_xid       xid8;
    v_base      bigint;
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_versions  bigint[] := array_fill(0::bigint, ARRAY[cardinality(p_streams)]);
    v_heads     bytea[] := p_genesis;
    v_reads     bigint[] := array_fill(0::bigint, ARRAY[cardinality(p_reads)]);
    v_prevs     bytea[] := '{}';
    v_hashes    bytea[] := '{}';
    v_stream    text;
    v_idx       integer;
    v_written   boolean;
    v_version   bigint;
    v_hash      bytea;
    k           integer;
BEGIN
    -- Positions come from the transaction id, so two appends in one
    -- transaction would collide.
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'IL004',
            MESSAGE = 'interlock: append must be the first write of its transaction';
    END IF;
    IF v_n < 1 OR v_n >= 16384 THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: %s events in one append, want 1..16383', v_n);
    END IF;
    v_xid := pg_current_xact_id();
    v_base := (v_xid::text)::bigint * 16384;

    IF p_key IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (key, digest, first_position, count)
        VALUES (p_key, p_digest, v_base, v_n)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            -- The conflicting insert has committed (ON CONFLICT waited for
            -- it), so this statement's snapshot sees it.
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

    -- Lock every head in one order (stream id, byte-wise), written streams
    -- FOR UPDATE and read streams FOR SHARE, so that appends never deadlock
    -- each other. A missing head row is created first, so that a read at
    -- version 0 is locked like any other. One stream and no reads, the
    -- common case, needs no ordering.
    IF cardinality(p_streams) = 1 AND cardinality(p_reads) = 0 THEN
        FOR attempt IN 1..2 LOOP
            SELECT h.version, h.hash INTO v_version, v_hash
            FROM {schema}.streams h WHERE h.stream = p_streams[1] FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO {schema}.streams (stream) VALUES (p_streams[1]) ON CONFLICT DO NOTHING;
        END LOOP;
        v_versions[1] := v_version;
        IF v_hash IS NOT NULL THEN
            v_heads[1] := v_hash;
        END IF;
    ELSE
        FOR v_stream, v_idx, v_written IN
            SELECT u.s COLLATE "C", u.i::integer, true FROM unnest(p_streams) WITH ORDINALITY AS u(s, i)
            UNION ALL
            SELECT u.s COLLATE "C", u.i::integer, false FROM unnest(p_reads) WITH ORDINALITY AS u(s, i)
            ORDER BY 1
        LOOP
            FOR attempt IN 1..2 LOOP
                IF v_written THEN
                    SELECT h.version, h.hash INTO v_version, v_hash
                    FROM {schema}.streams h WHERE h.stream = v_stream FOR UPDATE;
                ELSE
                    SELECT h.version INTO v_version
                    FROM {schema}.streams h WHERE h.stream = v_stream FOR SHARE;
                END IF;
                EXIT WHEN FOUND;
                INSERT INTO {schema}.streams (stream) VALUES (v_stream) ON CONFLICT DO NOTHING;
            END LOOP;
            IF v_written THEN
                v_versions[v_idx] := v_version;
                IF v_hash IS NOT NULL THEN
                    v_heads[v_idx] := v_hash;
                END IF;
            ELSE
                v_reads[v_idx] := v_version;
            END IF;
        END LOOP;
    END IF;

    -- Check in request order, as the memory store does, so both name the
    -- same stream when several are stale.
    FOR k IN 1..cardinality(p_streams) LOOP
        IF v_versions[k] <> p_expected[k] THEN
            RAISE EXCEPTION USING ERRCODE = 'IL001',
                MESSAGE = 'interlock: version conflict',
                DETAIL = json_build_object('stream', p_streams[k], 'expected', p_expected[k], 'actual', v_versions[k])::text;
        END IF;
    END LOOP;
    FOR k IN 1..cardinality(p_reads) LOOP
        IF v_reads[k] <> p_read_versions[k] THEN
            RAISE EXCEPTION USING ERRCODE = 'IL001',
                MESSAGE = 'interlock: version conflict',
                DETAIL = json_build_object('stream', p_reads[k], 'expected', p_read_versions[k], 'actual', v_reads[k])::text;
        END IF;
    END LOOP;

    FOR i IN 1..v_n LOOP
        k := p_ev_stream[i];
        v_prevs[i] := v_heads[k];
        v_heads[k] := sha256(v_heads[k] || p_canonical[i]);
        v_hashes[i] := v_heads[k];
        v_versions[k] := p_ev_version[i];
    END LOOP;

    -- One statement writes events, links and heads and returns the
    -- positions and hashes.
    RETURN QUERY
    WITH ins AS (
        INSERT INTO {schema}.events (position, stream, version, type, actor, time, payload, evidence, prev_hash, hash, xid)
        SELECT v_base + u.o - 1, p_streams[u.st], u.ver, u.ty, u.ac, p_time, u.pl, u.ev, u.pr, u.h, v_xid
        FROM unnest(p_ev_stream, p_ev_version, p_types, p_actors, p_payloads, p_evidence, v_prevs, v_hashes)
            WITH ORDINALITY AS u(st, ver, ty, ac, pl, ev, pr, h, o)
        RETURNING position, prev_hash, hash
    ), lnk AS (
        INSERT INTO {schema}.links (position, ord, stream, version, from_id, to_id, kind)
        SELECT v_base + u.e - 1, u.ord, p_streams[p_ev_stream[u.e]], p_ev_version[u.e], u.f, u.t, u.k
        FROM unnest(p_link_event, p_link_ord, p_link_from, p_link_to, p_link_kind) AS u(e, ord, f, t, k)
    ), upd AS (
        UPDATE {schema}.streams h SET version = u.v, hash = u.hh
        FROM unnest(p_streams, v_versions, v_heads) AS u(s, v, hh)
        WHERE h.stream = u.s
    )
    SELECT i.position, i.prev_hash, i.hash, false FROM ins i ORDER BY i.position;
END
$fn$;
