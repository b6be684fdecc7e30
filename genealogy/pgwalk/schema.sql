-- Genealogy's Postgres index: the link index again, with node ids and kinds interned to
-- integers, so that a trace walks narrow integer rows through index-only
-- scans instead of comparing text. A trigger on links keeps it in the same
-- transaction as the append, so it is never behind the record. It is
-- derived data: dropping these tables loses nothing that links does not
-- hold, and the backfill below rebuilds them. Install runs this file in one
-- transaction that holds links in SHARE mode, so no append slips between
-- the backfill and the trigger; every statement is idempotent.

LOCK TABLE {schema}.links IN SHARE MODE;

CREATE TABLE IF NOT EXISTS {schema}.genealogy_nodes (
    id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS {schema}.genealogy_kinds (
    id   smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text COLLATE "C" NOT NULL UNIQUE
);

-- One row per links row; (position, ord) finds the link and its event.
CREATE TABLE IF NOT EXISTS {schema}.genealogy_edges (
    position bigint NOT NULL,
    ord      integer NOT NULL,
    from_n   integer NOT NULL,
    to_n     integer NOT NULL,
    kind     smallint NOT NULL,
    PRIMARY KEY (position, ord)
);
CREATE INDEX IF NOT EXISTS genealogy_edges_from_idx ON {schema}.genealogy_edges (from_n) INCLUDE (to_n, kind, position, ord);
CREATE INDEX IF NOT EXISTS genealogy_edges_to_idx ON {schema}.genealogy_edges (to_n) INCLUDE (from_n, kind, position, ord);

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
