-- A feed that no unrelated transaction holds back.
--
-- Readers returned only records of transactions below their snapshot's
-- xmin, so any transaction open anywhere in the cluster, in another table
-- or schema, held every reader back until it ended. Now a reader's bound
-- is the lowest transaction id of the appends in flight on this schema
-- (every append takes the store's advisory lock before it has a
-- transaction id, and holds it until it ends), or, with none in flight,
-- the snapshot's xmax: read_bound, which readers call in a statement of
-- its own before they read, so that their read's snapshot is newer than
-- the bound.
--
-- A transaction with an id older than the bound that appends later (an
-- append in the caller's own transaction, after its own writes) would put
-- records below what readers already returned; check_late refuses it
-- (IL008) whenever any record sits at or past its first position, so it
-- is retried with a new transaction id.

-- read_bound returns the position below which every record has committed
-- or will never exist.
CREATE FUNCTION {schema}.read_bound() RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
    WITH snap AS (
        SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xmax
    ), store AS (
        SELECT hashtextextended('', pg_typeof(NULL::{schema}.events)::oid::bigint) AS k
    ), inflight AS (
        -- The transaction ids (32 bits in pg_locks) of the sessions that
        -- hold or wait for the store's lock, widened to 64 bits against
        -- xmax: a running transaction is less than 2^31 ids behind it.
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
    SELECT least((SELECT xmax FROM snap), (SELECT min(xid) FROM inflight)) * 16384
$fn$;

-- check_late: a transaction that had its id before it took the store's
-- lock may append only if no record sits at or past its first position:
-- readers may have returned such a record, and its own would come before
-- it. The detail names the stream of the first such record.
CREATE OR REPLACE FUNCTION {schema}.check_late(p_base bigint, p_streams text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_stream text;
BEGIN
    SELECT e.stream INTO v_stream FROM {schema}.events e WHERE e.position >= p_base ORDER BY e.position LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'IL008',
            MESSAGE = 'interlock: a newer transaction appended first; retry the transaction',
            DETAIL = v_stream;
    END IF;
END
$fn$;

REVOKE ALL ON FUNCTION {schema}.read_bound() FROM PUBLIC;
