-- Group commit: concurrent appends share one transaction and one WAL flush.
--
-- append_group writes several appends (members) in one statement, so in
-- one transaction, committed once. Each member runs in a subtransaction of
-- its own, with every check of append: its expected versions, its asserted
-- reads, its idempotency key, monotonic time. A member that is refused is
-- rolled back alone, with its SQLSTATE, message and detail in the result;
-- the others are written. A failed commit fails them all.
--
-- Global order: append_group must be the first write of its transaction.
-- It takes the store's lock before the transaction has an id and holds it
-- to the end, so readers (read_bound) stay below the whole group. The
-- first member takes its streams' locks, waiting for them if it must, and
-- only then the transaction's id, as append does: whoever wrote those
-- streams before has a lower id. Later members only try their locks, and
-- one that finds a stream locked by another transaction, or any record of
-- a transaction that took its id later (it may have read or written this
-- member's streams), is refused with IL010 and nothing written, so that
-- the caller puts it in its next group. Positions continue from member to
-- member in the one transaction id. A group therefore never waits while
-- it holds a lock or an id, and global order stays the order in which
-- appends saw each other.
--
-- append_member is one member. It runs with its caller's rights and is
-- meant for append_group only: an application role (see GrantApp), which
-- may not insert into the tables, cannot use it to write around
-- append_group's lock.

-- check_reads raises IL001, naming the first stale one, when a stream
-- p_reads names is not at its version in p_read_versions.
CREATE FUNCTION {schema}.check_reads(p_reads text[], p_read_versions bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_stream   text;
    v_expected bigint;
    v_version  bigint;
BEGIN
    IF cardinality(p_reads) = 0 THEN
        RETURN;
    END IF;
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
END
$fn$;

CREATE FUNCTION {schema}.append_member(
    p_txbase          bigint,
    p_used            bigint,
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
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_seed      bigint := pg_typeof(NULL::{schema}.events)::oid::bigint;
    v_n         integer := cardinality(p_types);
    v_key       {schema}.idempotency_keys%ROWTYPE;
    v_versions  bigint[];
    v_heads     bytea[];
    v_times     timestamptz[];
    v_prevs     bytea[];
    v_hashes    bytea[];
    v_lock      bigint;
    v_exclusive boolean;
    v_got       boolean;
    v_stream    text;
    -- Without the transaction's base, its id is taken after this
    -- member's locks, and the member may wait for them; with it, the
    -- member only tries them (see append_group).
    v_try       boolean := p_txbase IS NOT NULL;
    p_base      bigint;
    k           integer;
BEGIN
    IF v_n < 1 OR cardinality(p_streams) < 1 OR cardinality(p_streams) + cardinality(p_reads) > 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: a group member holds %s events on %s streams with %s reads, want at least one event and at most 64 streams and reads',
                v_n, cardinality(p_streams), cardinality(p_reads));
    END IF;
    IF p_used + v_n >= 16384 THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: %s events in one transaction, want at most 16383', p_used + v_n);
    END IF;

    -- The streams' locks in the order of their keys, as append takes them;
    -- the store's lock is append_group's. One stream without reads, the
    -- most common member, takes its one lock directly.
    IF cardinality(p_streams) = 1 AND cardinality(p_reads) = 0 THEN
        v_lock := hashtextextended(p_streams[1], v_seed);
        IF NOT v_try THEN
            PERFORM pg_advisory_xact_lock(v_lock);
        ELSIF NOT pg_try_advisory_xact_lock(v_lock) THEN
            RAISE EXCEPTION USING ERRCODE = 'IL010',
                MESSAGE = 'interlock: another transaction holds a stream of the append; put it in the next group';
        END IF;
    ELSE
        FOR v_lock, v_exclusive IN
            SELECT u.k, bool_or(u.w) FROM (
                SELECT hashtextextended(s, v_seed), true FROM unnest(p_streams) AS s
                UNION ALL
                SELECT hashtextextended(s, v_seed), false FROM unnest(p_reads) AS s
            ) AS u(k, w)
            GROUP BY u.k ORDER BY u.k
        LOOP
            IF NOT v_try THEN
                IF v_exclusive THEN
                    PERFORM pg_advisory_xact_lock(v_lock);
                ELSE
                    PERFORM pg_advisory_xact_lock_shared(v_lock);
                END IF;
            ELSE
                IF v_exclusive THEN
                    v_got := pg_try_advisory_xact_lock(v_lock);
                ELSE
                    v_got := pg_try_advisory_xact_lock_shared(v_lock);
                END IF;
                IF NOT v_got THEN
                    RAISE EXCEPTION USING ERRCODE = 'IL010',
                        MESSAGE = 'interlock: another transaction holds a stream of the append; put it in the next group';
                END IF;
            END IF;
        END LOOP;
    END IF;

    IF NOT v_try THEN
        -- The transaction's id only now, after the locks: whoever wrote
        -- these streams before has committed with a lower id.
        p_base := (pg_current_xact_id()::text)::bigint * 16384 + {schema}.position_offset() + p_used;
    ELSE
        -- The id was taken before these locks. A transaction that took
        -- its id later (its records sit at or past the end of this one's
        -- positions, p_txbase + 16384) may have committed since, after
        -- writing these streams or a stream this member reads, or after
        -- reading one it writes: this member's records would then come
        -- before it in global order, against what happened, as
        -- check_late guards for append. The member goes into the next
        -- group, with an id of its own.
        p_base := p_txbase + p_used;
        SELECT e.stream INTO v_stream FROM {schema}.events e WHERE e.position >= p_txbase + 16384
        ORDER BY e.position LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'IL010',
                MESSAGE = 'interlock: a newer transaction appended first; put the append in the next group',
                DETAIL = v_stream;
        END IF;
    END IF;

    IF p_key IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (key, digest, first_position, count)
        VALUES (p_key, p_digest, p_base, v_n)
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

    -- One event on one stream without links, the most common member: one
    -- insert that checks the head, as append_keyed writes it; the reads
    -- after it, a stale one undoing the insert.
    IF v_n = 1 AND cardinality(p_streams) = 1 AND cardinality(p_link_event) = 0 THEN
        IF p_ev_stream[1] IS DISTINCT FROM 1 OR p_ev_version[1] IS DISTINCT FROM p_expected[1] + 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'IL005',
                MESSAGE = format('interlock: event 1 names stream %s at version %s; want stream 1 at version %s', p_ev_stream[1], p_ev_version[1], p_expected[1] + 1);
        END IF;
        RETURN QUERY
            INSERT INTO {schema}.events AS n (position, version, time, stream, type, actor, prev_hash, hash, payload, evidence)
            SELECT p_base, p_expected[1] + 1, p_time, p_streams[1], p_types[1], p_actors[1],
                coalesce(h.hash, p_genesis[1]), sha256(coalesce(h.hash, p_genesis[1]) || p_canonical[1]), p_payloads[1], p_evidence[1]
            FROM (VALUES (1)) AS one(x)
            LEFT JOIN LATERAL (
                SELECT e.version, e.hash, e.time FROM {schema}.events e WHERE e.stream = p_streams[1]
                ORDER BY e.version DESC LIMIT 1
            ) h ON true
            WHERE coalesce(h.version, 0) = p_expected[1] AND (h.time IS NULL OR h.time <= p_time)
            RETURNING n.position, n.prev_hash, n.hash, false;
        IF NOT FOUND THEN
            PERFORM {schema}.refuse_append(p_streams[1], p_expected[1], p_time);
        END IF;
        PERFORM {schema}.check_reads(p_reads, p_read_versions);
        RETURN;
    END IF;

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
    FOR k IN 1..cardinality(p_streams) LOOP
        IF v_times[k] > p_time THEN
            RAISE EXCEPTION USING ERRCODE = 'IL007',
                MESSAGE = 'interlock: the clock reads earlier than the stream''s head',
                DETAIL = json_build_object('stream', p_streams[k], 'head', v_times[k], 'clock', p_time)::text;
        END IF;
    END LOOP;
    PERFORM {schema}.check_reads(p_reads, p_read_versions);

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
    SELECT p_base + u.o - 1, u.ver, p_time, p_streams[u.st], u.ty, u.ac, u.pr, u.h, u.pl, u.ev
    FROM unnest(p_ev_stream, p_ev_version, p_types, p_actors, p_payloads, p_evidence, v_prevs, v_hashes)
        WITH ORDINALITY AS u(st, ver, ty, ac, pl, ev, pr, h, o);
    IF cardinality(p_link_event) > 0 THEN
        INSERT INTO {schema}.links (position, ord, stream, version, from_id, to_id, kind)
        SELECT p_base + u.e - 1, u.ord, p_streams[p_ev_stream[u.e]], p_ev_version[u.e], u.f, u.t, u.k
        FROM unnest(p_link_event, p_link_ord, p_link_from, p_link_to, p_link_kind) AS u(e, ord, f, t, k);
    END IF;
    out_replayed := false;
    FOR i IN 1..v_n LOOP
        out_position := p_base + i - 1;
        out_prev_hash := v_prevs[i];
        out_hash := v_hashes[i];
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- append_group writes its members in order, each as append would, and
-- returns each member's records (out_member, its index from 1), or one row
-- with its refusal (out_code, the SQLSTATE; out_message; out_detail).
-- Members are laid out as append's arguments, concatenated: p_*_end[m] is
-- the index past member m's last stream, read, event and link; a member's
-- p_ev_stream counts from its own first stream, and its p_link_event from
-- its own first event.
CREATE FUNCTION {schema}.append_group(
    p_keys            text[],
    p_digests         bytea[],
    p_times           timestamptz[],
    p_stream_end      integer[],
    p_read_end        integer[],
    p_event_end       integer[],
    p_link_end        integer[],
    p_streams         text[],
    p_expected        bigint[],
    p_genesis         bytea[],
    p_reads           text[],
    p_read_versions   bigint[],
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
) RETURNS TABLE (out_member integer, out_position bigint, out_prev_hash bytea, out_hash bytea, out_replayed boolean,
    out_code text, out_message text, out_detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_members integer := cardinality(p_times);
    v_base    bigint;
    v_used    bigint := 0;
    s0 integer := 0; r0 integer := 0; e0 integer := 0; l0 integer := 0;
    v_pos     bigint[];
    v_prev    bytea[];
    v_hash    bytea[];
    v_rep     boolean[];
    v_code    text;
    v_msg     text;
    v_detail  text;
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'IL011',
            MESSAGE = 'interlock: append_group must be the first write of its transaction';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'IL006',
            MESSAGE = format('interlock: append needs READ COMMITTED isolation, not %s', upper(current_setting('transaction_isolation')));
    END IF;
    IF v_members < 1 OR cardinality(p_keys) <> v_members OR cardinality(p_digests) <> v_members
        OR cardinality(p_stream_end) <> v_members OR cardinality(p_read_end) <> v_members
        OR cardinality(p_event_end) <> v_members OR cardinality(p_link_end) <> v_members THEN
        RAISE EXCEPTION USING ERRCODE = 'IL005',
            MESSAGE = format('interlock: a group of %s members with %s keys, %s digests and %s, %s, %s, %s ends',
                v_members, cardinality(p_keys), cardinality(p_digests), cardinality(p_stream_end),
                cardinality(p_read_end), cardinality(p_event_end), cardinality(p_link_end));
    END IF;

    -- The store's lock before the transaction's id, held to its end. The
    -- id is taken by the first member, after its stream locks.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint));

    FOR m IN 1..v_members LOOP
        v_code := NULL;
        BEGIN
            SELECT array_agg(a.out_position ORDER BY a.out_position), array_agg(a.out_prev_hash ORDER BY a.out_position),
                array_agg(a.out_hash ORDER BY a.out_position), array_agg(a.out_replayed ORDER BY a.out_position)
            INTO v_pos, v_prev, v_hash, v_rep
            FROM {schema}.append_member(v_base, v_used, p_keys[m], p_digests[m],
                p_streams[s0 + 1:p_stream_end[m]], p_expected[s0 + 1:p_stream_end[m]], p_genesis[s0 + 1:p_stream_end[m]],
                p_reads[r0 + 1:p_read_end[m]], p_read_versions[r0 + 1:p_read_end[m]],
                p_times[m],
                p_ev_stream[e0 + 1:p_event_end[m]], p_ev_version[e0 + 1:p_event_end[m]], p_types[e0 + 1:p_event_end[m]],
                p_actors[e0 + 1:p_event_end[m]], p_payloads[e0 + 1:p_event_end[m]], p_evidence[e0 + 1:p_event_end[m]],
                p_canonical[e0 + 1:p_event_end[m]],
                p_link_event[l0 + 1:p_link_end[m]], p_link_ord[l0 + 1:p_link_end[m]], p_link_from[l0 + 1:p_link_end[m]],
                p_link_to[l0 + 1:p_link_end[m]], p_link_kind[l0 + 1:p_link_end[m]]) a;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
        END;
        IF v_base IS NULL AND pg_current_xact_id_if_assigned() IS NOT NULL THEN
            -- The member took the transaction's id (and kept it, even if it
            -- was refused): positions start here.
            v_base := (pg_current_xact_id()::text)::bigint * 16384 + {schema}.position_offset();
        END IF;
        out_member := m;
        IF v_code IS NULL THEN
            IF NOT v_rep[1] THEN
                v_used := v_used + (p_event_end[m] - e0);
            END IF;
            out_code := NULL;
            out_message := NULL;
            out_detail := NULL;
            FOR i IN 1..cardinality(v_pos) LOOP
                out_position := v_pos[i];
                out_prev_hash := v_prev[i];
                out_hash := v_hash[i];
                out_replayed := v_rep[i];
                RETURN NEXT;
            END LOOP;
        ELSE
            out_position := NULL;
            out_prev_hash := NULL;
            out_hash := NULL;
            out_replayed := NULL;
            out_code := v_code;
            out_message := v_msg;
            out_detail := v_detail;
            RETURN NEXT;
        END IF;
        s0 := p_stream_end[m];
        r0 := p_read_end[m];
        e0 := p_event_end[m];
        l0 := p_link_end[m];
    END LOOP;
END
$fn$;

REVOKE ALL ON FUNCTION {schema}.check_reads(text[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.append_member(bigint, bigint, text, bytea, text[], bigint[], bytea[], text[], bigint[],
    timestamptz, integer[], bigint[], text[], text[], text[], text[], bytea[], integer[], integer[], text[], text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.append_group(text[], bytea[], timestamptz[], integer[], integer[], integer[], integer[],
    text[], bigint[], bytea[], text[], bigint[], integer[], bigint[], text[], text[], text[], text[], bytea[],
    integer[], integer[], text[], text[], text[]) FROM PUBLIC;
