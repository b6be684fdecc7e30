-- Genealogy's Postgres index (package storage/postgres/pgwalk reads it):
-- the link index again, with node ids and kinds interned to integers, so
-- that a trace walks narrow integer rows through index-only scans instead
-- of comparing text. A trigger on links keeps it in the same transaction
-- as the append, so it is never behind the record. It is derived data:
-- dropping these tables loses nothing that links does not hold, and the
-- backfill below rebuilds them. The migration holds links in SHARE mode,
-- so no append slips between the backfill and the trigger; every
-- statement is idempotent, so a schema that ran pgwalk.Install before
-- this migration existed is brought to the same state.
LOCK TABLE {schema}.links IN SHARE MODE;

CREATE TABLE IF NOT EXISTS {schema}.genealogy_nodes (
    id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS {schema}.genealogy_kinds (
    id   smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text COLLATE "C" NOT NULL UNIQUE
);

-- One row per links row; (position, ord) finds the link and its event. xid
-- is the transaction that wrote the row (pg_current_xact_id as a number),
-- so that a reader can find every edge a stored closure's snapshot did not
-- see (genealogy_closures). Rows are only ever appended, so a BRIN index
-- finds the recent ones and costs an append next to nothing.
CREATE TABLE IF NOT EXISTS {schema}.genealogy_edges (
    position bigint NOT NULL,
    ord      integer NOT NULL,
    from_n   integer NOT NULL,
    to_n     integer NOT NULL,
    kind     smallint NOT NULL,
    xid      bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    PRIMARY KEY (position, ord)
);
ALTER TABLE {schema}.genealogy_edges
    ADD COLUMN IF NOT EXISTS xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX IF NOT EXISTS genealogy_edges_from_idx ON {schema}.genealogy_edges (from_n) INCLUDE (to_n, kind, position, ord);
CREATE INDEX IF NOT EXISTS genealogy_edges_to_idx ON {schema}.genealogy_edges (to_n) INCLUDE (from_n, kind, position, ord);
CREATE INDEX IF NOT EXISTS genealogy_edges_xid_idx ON {schema}.genealogy_edges USING brin (xid);

-- What Traverse adds to an edge of a trace walked in one statement: the
-- names of its ends (as in links) and its proving event, kept by edge so
-- that one index-only lookup resolves it, where a links and an events heap
-- lookup on scattered pages took twice as long. The covering index is the
-- lookup; the table is what an index-only scan falls back on for rows not
-- yet marked all-visible. Derived data, filled with genealogy_edges.
CREATE TABLE IF NOT EXISTS {schema}.genealogy_resolved (
    position bigint NOT NULL,
    ord      integer NOT NULL,
    from_id  text COLLATE "C" NOT NULL,
    to_id    text COLLATE "C" NOT NULL,
    stream   text COLLATE "C" NOT NULL,
    version  bigint NOT NULL,
    hash     bytea NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS genealogy_resolved_idx ON {schema}.genealogy_resolved (position, ord)
    INCLUDE (from_id, to_id, stream, version, hash);

-- A stored closure: every edge a walk from root reaches in one direction,
-- to storage.MaxTraverseDepth and of every kind, as it was in snapshot
-- snap; refs packs them 24 bytes each (see closure.go). A walker reads it
-- with the edges snap did not see and merges them, so a closure is never
-- wrong, only more or less work to bring up to date; walkers write them
-- (Config.ClosureEdges). resolved is its dictionary (see dict.go): the
-- names of its nodes and its proving events, which never change, so it is
-- never wrong either, only incomplete; NULL until a Traverse stores it.
-- Stored uncompressed: reading is what counts.
CREATE TABLE IF NOT EXISTS {schema}.genealogy_closures (
    root     integer NOT NULL,
    backward boolean NOT NULL,
    snap     pg_snapshot NOT NULL,
    edges    integer NOT NULL,
    refs     bytea NOT NULL,
    resolved bytea,
    PRIMARY KEY (root, backward)
);
ALTER TABLE {schema}.genealogy_closures ADD COLUMN IF NOT EXISTS resolved bytea;
ALTER TABLE {schema}.genealogy_closures ALTER COLUMN refs SET STORAGE EXTERNAL,
    ALTER COLUMN resolved SET STORAGE EXTERNAL;

CREATE OR REPLACE FUNCTION {schema}.genealogy_index() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Each statement takes a new snapshot (READ COMMITTED, as appends
    -- run), so names another append inserted concurrently are seen by the
    -- join once ON CONFLICT has waited for it.
    INSERT INTO {schema}.genealogy_kinds (kind)
        SELECT DISTINCT n.kind FROM new_links n ORDER BY 1
        ON CONFLICT (kind) DO NOTHING;
    INSERT INTO {schema}.genealogy_nodes (name)
        SELECT x FROM (SELECT n.from_id FROM new_links n UNION SELECT n.to_id FROM new_links n) u(x) ORDER BY 1
        ON CONFLICT (name) DO NOTHING;
    INSERT INTO {schema}.genealogy_edges (position, ord, from_n, to_n, kind)
        SELECT n.position, n.ord, f.id, t.id, k.id
        FROM new_links n
        JOIN {schema}.genealogy_nodes f ON f.name = n.from_id
        JOIN {schema}.genealogy_nodes t ON t.name = n.to_id
        JOIN {schema}.genealogy_kinds k ON k.kind = n.kind;
    -- The append wrote the events before their links, in this transaction.
    INSERT INTO {schema}.genealogy_resolved (position, ord, from_id, to_id, stream, version, hash)
        SELECT n.position, n.ord, n.from_id, n.to_id, n.stream, n.version, e.hash
        FROM new_links n JOIN {schema}.events e ON e.position = n.position;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER links_genealogy AFTER INSERT ON {schema}.links
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.genealogy_index();

-- Backfill from links already written.
INSERT INTO {schema}.genealogy_kinds (kind) SELECT DISTINCT kind FROM {schema}.links ORDER BY 1
    ON CONFLICT (kind) DO NOTHING;
INSERT INTO {schema}.genealogy_nodes (name)
    SELECT x FROM (SELECT from_id FROM {schema}.links UNION SELECT to_id FROM {schema}.links) u(x) ORDER BY 1
    ON CONFLICT (name) DO NOTHING;
INSERT INTO {schema}.genealogy_edges (position, ord, from_n, to_n, kind)
    SELECT l.position, l.ord, f.id, t.id, k.id
    FROM {schema}.links l
    JOIN {schema}.genealogy_nodes f ON f.name = l.from_id
    JOIN {schema}.genealogy_nodes t ON t.name = l.to_id
    JOIN {schema}.genealogy_kinds k ON k.kind = l.kind
    ON CONFLICT (position, ord) DO NOTHING;
INSERT INTO {schema}.genealogy_resolved (position, ord, from_id, to_id, stream, version, hash)
    SELECT l.position, l.ord, l.from_id, l.to_id, l.stream, l.version, e.hash
    FROM {schema}.links l JOIN {schema}.events e ON e.position = l.position
    ON CONFLICT (position, ord) DO NOTHING;

DROP FUNCTION IF EXISTS {schema}.genealogy_forward(text[], integer, text[], integer, boolean);
-- genealogy_forward walks from p_from in one statement, for a trace of a
-- few hundred edges: one call, one snapshot, one round trip. Install makes
-- it twice from this template: forward (from_n from_n, to_n to_n) and
-- backward.
--
-- The recursive part keeps each edge once per depth its near end is
-- reached at (UNION of whole rows), so it ends on cycles, and stops at
-- p_limit rows. The edges of storage.Walk's BFS are those whose near end
-- is at its shortest distance, which the caller keeps: in a genealogy
-- nearly every row is one, and the filter costs more here than the rows it
-- would drop. With p_resolve it joins the names of both ends (from and to,
-- as in links) and the proving event from genealogy_resolved, which is all
-- of Traverse's answer.
-- Every row carries total, the rows the walk produced: p_limit or more
-- means it was cut short and the caller must walk another way. A single
-- start node with a stored closure returns one row with total -1 and
-- nothing else: the closure is the faster way.
--
-- Its plan is generic (plan_cache_mode), so it is planned once per session,
-- not on every call: a custom plan for one start node costs more to make
-- than the walk costs to run.
CREATE OR REPLACE FUNCTION {schema}.genealogy_forward(
    p_from    text[],
    p_max     integer,
    p_kinds   text[],
    p_limit   integer,
    p_resolve boolean
) RETURNS TABLE (
    depth integer, near integer, far integer, kind smallint, "position" bigint, ord integer,
    from_name text, to_name text, stream text, version bigint, hash bytea, total bigint
)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
    IF cardinality(p_from) = 1 AND EXISTS (
        SELECT FROM {schema}.genealogy_closures c JOIN {schema}.genealogy_nodes n ON n.id = c.root
        WHERE n.name = p_from[1] AND c.backward = false
    ) THEN
        RETURN QUERY SELECT 0, 0, 0, 0::smallint, 0::bigint, 0, NULL::text, NULL::text, NULL::text, 0::bigint, NULL::bytea, -1::bigint;
        RETURN;
    END IF;
    IF NOT p_resolve THEN
        RETURN QUERY
        WITH RECURSIVE roots AS (
    SELECT n.id FROM {schema}.genealogy_nodes n WHERE n.name = ANY(p_from)
), kinds AS (
    SELECT k.id FROM {schema}.genealogy_kinds k WHERE k.kind = ANY(p_kinds)
), walk(depth, near, far, kind, position, ord) AS (
    SELECT 1, e.from_n, e.to_n, e.kind, e.position, e.ord
    FROM roots r JOIN {schema}.genealogy_edges e ON e.from_n = r.id
    WHERE p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds)
    UNION
    SELECT w.depth + 1, e.from_n, e.to_n, e.kind, e.position, e.ord
    FROM walk w JOIN {schema}.genealogy_edges e ON e.from_n = w.far
    WHERE w.depth < p_max AND (p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds))
), w AS MATERIALIZED (
    SELECT * FROM walk LIMIT p_limit
)
        SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
            NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bytea, (SELECT count(*) FROM w)
        FROM w b;
        RETURN;
    END IF;
    -- One index-only lookup in genealogy_resolved for both names and the
    -- proof. Left joined: an edge without its row comes back with NULLs,
    -- which the caller reports, rather than not at all.
    RETURN QUERY
    WITH RECURSIVE roots AS (
    SELECT n.id FROM {schema}.genealogy_nodes n WHERE n.name = ANY(p_from)
), kinds AS (
    SELECT k.id FROM {schema}.genealogy_kinds k WHERE k.kind = ANY(p_kinds)
), walk(depth, near, far, kind, position, ord) AS (
    SELECT 1, e.from_n, e.to_n, e.kind, e.position, e.ord
    FROM roots r JOIN {schema}.genealogy_edges e ON e.from_n = r.id
    WHERE p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds)
    UNION
    SELECT w.depth + 1, e.from_n, e.to_n, e.kind, e.position, e.ord
    FROM walk w JOIN {schema}.genealogy_edges e ON e.from_n = w.far
    WHERE w.depth < p_max AND (p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds))
), w AS MATERIALIZED (
    SELECT * FROM walk LIMIT p_limit
)
    SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
        r.from_id, r.to_id, r.stream, r.version, r.hash, (SELECT count(*) FROM w)
    FROM w b
    LEFT JOIN {schema}.genealogy_resolved r ON r.position = b.position AND r.ord = b.ord;
END
$fn$;

DROP FUNCTION IF EXISTS {schema}.genealogy_backward(text[], integer, text[], integer, boolean);
-- genealogy_backward walks from p_from in one statement, for a trace of a
-- few hundred edges: one call, one snapshot, one round trip. Install makes
-- it twice from this template: forward (to_n from_n, from_n to_n) and
-- backward.
--
-- The recursive part keeps each edge once per depth its near end is
-- reached at (UNION of whole rows), so it ends on cycles, and stops at
-- p_limit rows. The edges of storage.Walk's BFS are those whose near end
-- is at its shortest distance, which the caller keeps: in a genealogy
-- nearly every row is one, and the filter costs more here than the rows it
-- would drop. With p_resolve it joins the names of both ends (from and to,
-- as in links) and the proving event from genealogy_resolved, which is all
-- of Traverse's answer.
-- Every row carries total, the rows the walk produced: p_limit or more
-- means it was cut short and the caller must walk another way. A single
-- start node with a stored closure returns one row with total -1 and
-- nothing else: the closure is the faster way.
--
-- Its plan is generic (plan_cache_mode), so it is planned once per session,
-- not on every call: a custom plan for one start node costs more to make
-- than the walk costs to run.
CREATE OR REPLACE FUNCTION {schema}.genealogy_backward(
    p_from    text[],
    p_max     integer,
    p_kinds   text[],
    p_limit   integer,
    p_resolve boolean
) RETURNS TABLE (
    depth integer, near integer, far integer, kind smallint, "position" bigint, ord integer,
    from_name text, to_name text, stream text, version bigint, hash bytea, total bigint
)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
    IF cardinality(p_from) = 1 AND EXISTS (
        SELECT FROM {schema}.genealogy_closures c JOIN {schema}.genealogy_nodes n ON n.id = c.root
        WHERE n.name = p_from[1] AND c.backward = true
    ) THEN
        RETURN QUERY SELECT 0, 0, 0, 0::smallint, 0::bigint, 0, NULL::text, NULL::text, NULL::text, 0::bigint, NULL::bytea, -1::bigint;
        RETURN;
    END IF;
    IF NOT p_resolve THEN
        RETURN QUERY
        WITH RECURSIVE roots AS (
    SELECT n.id FROM {schema}.genealogy_nodes n WHERE n.name = ANY(p_from)
), kinds AS (
    SELECT k.id FROM {schema}.genealogy_kinds k WHERE k.kind = ANY(p_kinds)
), walk(depth, near, far, kind, position, ord) AS (
    SELECT 1, e.to_n, e.from_n, e.kind, e.position, e.ord
    FROM roots r JOIN {schema}.genealogy_edges e ON e.to_n = r.id
    WHERE p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds)
    UNION
    SELECT w.depth + 1, e.to_n, e.from_n, e.kind, e.position, e.ord
    FROM walk w JOIN {schema}.genealogy_edges e ON e.to_n = w.far
    WHERE w.depth < p_max AND (p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds))
), w AS MATERIALIZED (
    SELECT * FROM walk LIMIT p_limit
)
        SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
            NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bytea, (SELECT count(*) FROM w)
        FROM w b;
        RETURN;
    END IF;
    -- One index-only lookup in genealogy_resolved for both names and the
    -- proof. Left joined: an edge without its row comes back with NULLs,
    -- which the caller reports, rather than not at all.
    RETURN QUERY
    WITH RECURSIVE roots AS (
    SELECT n.id FROM {schema}.genealogy_nodes n WHERE n.name = ANY(p_from)
), kinds AS (
    SELECT k.id FROM {schema}.genealogy_kinds k WHERE k.kind = ANY(p_kinds)
), walk(depth, near, far, kind, position, ord) AS (
    SELECT 1, e.to_n, e.from_n, e.kind, e.position, e.ord
    FROM roots r JOIN {schema}.genealogy_edges e ON e.to_n = r.id
    WHERE p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds)
    UNION
    SELECT w.depth + 1, e.to_n, e.from_n, e.kind, e.position, e.ord
    FROM walk w JOIN {schema}.genealogy_edges e ON e.to_n = w.far
    WHERE w.depth < p_max AND (p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds))
), w AS MATERIALIZED (
    SELECT * FROM walk LIMIT p_limit
)
    SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
        r.from_id, r.to_id, r.stream, r.version, r.hash, (SELECT count(*) FROM w)
    FROM w b
    LEFT JOIN {schema}.genealogy_resolved r ON r.position = b.position AND r.ord = b.ord;
END
$fn$;

-- An earlier version walked in genealogy_walk.
DROP FUNCTION IF EXISTS {schema}.genealogy_walk(text[], boolean, integer, text[], integer);
