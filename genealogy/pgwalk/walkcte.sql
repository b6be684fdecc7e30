-- The walk genealogy_{dir} runs, in both of its statements (see walk.sql).
WITH RECURSIVE roots AS (
    SELECT n.id FROM {schema}.genealogy_nodes n WHERE n.name = ANY(p_from)
), kinds AS (
    SELECT k.id FROM {schema}.genealogy_kinds k WHERE k.kind = ANY(p_kinds)
), walk(depth, near, far, kind, position, ord) AS (
    SELECT 1, e.{near}, e.{far}, e.kind, e.position, e.ord
    FROM roots r JOIN {schema}.genealogy_edges e ON e.{near} = r.id
    WHERE p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds)
    UNION
    SELECT w.depth + 1, e.{near}, e.{far}, e.kind, e.position, e.ord
    FROM walk w JOIN {schema}.genealogy_edges e ON e.{near} = w.far
    WHERE w.depth < p_max AND (p_kinds IS NULL OR e.kind IN (SELECT id FROM kinds))
), w AS MATERIALIZED (
    SELECT * FROM walk LIMIT p_limit
)
