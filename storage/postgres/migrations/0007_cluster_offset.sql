-- A record restored into another cluster keeps its order.
--
-- Positions come from transaction ids, and a new cluster's ids start over:
-- after pg_dump and a restore elsewhere, new appends would get positions
-- below the restored ones, and a reader paging from the last position it
-- saw would never see them. Each cluster the record has lived in is
-- registered with a position offset (clusters, keyed by the cluster's
-- system identifier): positions are xid * 16384 + the offset of the
-- cluster that wrote them, and a cluster is registered (by Migrate, which
-- calls register_cluster) with an offset that puts its first position
-- past every restored one. Until it is, appends are refused (IL009), and
-- reads see every restored record.

CREATE TABLE {schema}.clusters (
    system_identifier text PRIMARY KEY,
    position_offset   bigint NOT NULL CHECK (position_offset >= 0),
    registered        timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER clusters_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.clusters
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.reject_change();

-- The cluster that runs this migration wrote every position so far.
INSERT INTO {schema}.clusters (system_identifier, position_offset)
    SELECT s.system_identifier::text, 0 FROM pg_control_system() s;

-- position_offset returns this cluster's offset, or raises IL009 when the
-- record was restored here and the cluster is not registered yet.
CREATE FUNCTION {schema}.position_offset() RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v bigint;
BEGIN
    SELECT c.position_offset INTO v FROM {schema}.clusters c
    WHERE c.system_identifier = (SELECT s.system_identifier::text FROM pg_control_system() s);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'IL009',
            MESSAGE = 'interlock: the record was restored into another cluster; run Migrate before appending';
    END IF;
    RETURN v;
END
$fn$;

-- register_cluster registers the cluster it runs on, once, with an offset
-- that puts its positions past every position of the record, under the
-- store's exclusive lock so that no append is in flight.
CREATE FUNCTION {schema}.register_cluster() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_id   text := (SELECT s.system_identifier::text FROM pg_control_system() s);
    v_base bigint;
    v_max  bigint;
BEGIN
    IF EXISTS (SELECT FROM {schema}.clusters c WHERE c.system_identifier = v_id) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint));
    v_base := (pg_current_xact_id()::text)::bigint * 16384;
    SELECT coalesce(max(e.position), 0) INTO v_max FROM {schema}.events e;
    INSERT INTO {schema}.clusters (system_identifier, position_offset)
    VALUES (v_id, greatest(0, v_max + 16384 - v_base))
    ON CONFLICT (system_identifier) DO NOTHING;
END
$fn$;

-- late_base, as in migration 0005, plus the cluster's offset.
CREATE OR REPLACE FUNCTION {schema}.late_base(p_late boolean, p_n integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_xid  bigint := (pg_current_xact_id()::text)::bigint * 16384 + {schema}.position_offset();
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

-- read_bound, as in migration 0006, plus the cluster's offset; on a
-- cluster not registered yet nothing is in flight (appends are refused),
-- so every record is below the bound.
CREATE OR REPLACE FUNCTION {schema}.read_bound() RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
    WITH snap AS (
        SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xmax
    ), store AS (
        SELECT hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint) AS k
    ), cluster AS (
        SELECT c.position_offset AS off FROM {schema}.clusters c
        WHERE c.system_identifier = (SELECT s.system_identifier::text FROM pg_control_system() s)
    ), inflight AS (
        SELECT snap.xmax - d.behind AS xid
        FROM snap, store, pg_locks a
        JOIN pg_locks t ON t.virtualtransaction = a.virtualtransaction
            AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
        -- How far behind xmax the id is; an id taken after the snapshot
        -- (pg_locks is read live) is ahead of it, at or past xmax, which
        -- bounds the read anyway: it is left out.
        CROSS JOIN LATERAL (SELECT ((snap.xmax % 4294967296) - (t.transactionid::text)::bigint + 4294967296) % 4294967296 AS behind) d
        WHERE a.locktype = 'advisory'
            AND a.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
            AND a.classid = ((store.k >> 32) & 4294967295)::oid
            AND a.objid = (store.k & 4294967295)::oid
            AND a.objsubid = 1
            AND d.behind BETWEEN 1 AND 2147483647
    )
    SELECT CASE WHEN EXISTS (SELECT FROM cluster)
        THEN least((SELECT xmax FROM snap), (SELECT min(xid) FROM inflight)) * 16384 + (SELECT off FROM cluster)
        ELSE (SELECT coalesce(max(e.position), 0) + 1 FROM {schema}.events e)
    END
$fn$;

REVOKE ALL ON {schema}.clusters FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.position_offset() FROM PUBLIC;
REVOKE ALL ON FUNCTION {schema}.register_cluster() FROM PUBLIC;
