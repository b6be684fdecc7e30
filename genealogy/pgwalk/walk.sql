-- genealogy_{dir} walks from p_from in one statement, for a trace of a
-- few hundred edges: one call, one snapshot, one round trip. Install makes
-- it twice from this template: forward ({near} from_n, {far} to_n) and
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
CREATE OR REPLACE FUNCTION {schema}.genealogy_{dir}(
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
        WHERE n.name = p_from[1] AND c.backward = {backward}
    ) THEN
        RETURN QUERY SELECT 0, 0, 0, 0::smallint, 0::bigint, 0, NULL::text, NULL::text, NULL::text, 0::bigint, NULL::bytea, -1::bigint;
        RETURN;
    END IF;
    IF NOT p_resolve THEN
        RETURN QUERY
        {walk}
        SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
            NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bytea, (SELECT count(*) FROM w)
        FROM w b;
        RETURN;
    END IF;
    -- One index-only lookup in genealogy_resolved for both names and the
    -- proof. Left joined: an edge without its row comes back with NULLs,
    -- which the caller reports, rather than not at all.
    RETURN QUERY
    {walk}
    SELECT b.depth, b.near, b.far, b.kind, b.position, b.ord,
        r.from_id, r.to_id, r.stream, r.version, r.hash, (SELECT count(*) FROM w)
    FROM w b
    LEFT JOIN {schema}.genealogy_resolved r ON r.position = b.position AND r.ord = b.ord;
END
$fn$;
