// Package pgwalk traces genealogy in Postgres faster than a recursive query
// over the store's link index. It keeps the links again with node ids and
// kinds interned to integers, in tables a trigger on links fills in the
// append's transaction, and answers a trace one of three ways:
//
//   - a trace of up to a few thousand edges is one call of a PL/pgSQL
//     function (genealogy_forward, genealogy_backward) whose single
//     statement walks the integer edges and, for Traverse, joins their
//     names and proving events, kept by edge in genealogy_resolved for one
//     index-only lookup each: one round trip, one snapshot, a plan made
//     once per session;
//   - the trace of a single node with a stored closure (a bulk input's,
//     which reaches a fifth of a plant) reads the closure, one packed value,
//     with the edges written since it was stored, and merges them; for
//     Traverse, a second packed value stored beside it, its dictionary,
//     holds the names of its nodes and its proving events, and only those
//     of edges written since are looked up;
//   - any other large trace walks level by level, one batched query per
//     level over a covering index; a single node's walk that is its
//     closure (it saw every edge) is stored as one when it reaches
//     Config.ClosureEdges edges.
//
// Its tables, functions and trigger are installed by postgres.Migrate
// (migration 0004_genealogy), which backfills them from the links already
// recorded.
//
// Its answers are exactly storage.Store.Traverse's (the shared test in
// package genealogy and this package's tests check it, with appends running
// while closures are read).
//
// # Use
//
// New returns a Walker over a migrated schema; its Traverse answers a
// storage.TraverseRequest with names and proving events, and Reach with
// edge ids only.
package pgwalk

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/interlock-mes/interlock/storage/backend"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// Defaults of the Config fields left zero.
const (
	DefaultSmallWalk    = 2000
	DefaultClosureEdges = 20000
	DefaultClosureDelta = 4096
)

// Config configures a Walker.
type Config struct {
	// Schema holds the store's tables and the walker's (see Install).
	// Required.
	Schema string
	// SmallWalk is how many nodes a trace may reach and still be walked in
	// one statement; past it (the statement stops at 4×SmallWalk rows) the
	// walker reads a closure or goes level by level. The statement keeps
	// an edge once per depth it is reached at, cheap for a typical trace
	// and wasteful for a large one. It must not be negative. Default:
	// DefaultSmallWalk.
	SmallWalk int
	// ClosureEdges is how many edges a single node's trace must reach for
	// the walker to store it as the node's closure, which later traces of
	// that node read instead of walking; only a trace that saw every edge
	// (to its end or to storage.MaxTraverseDepth, none left out by kind)
	// is one. Storing writes the table
	// genealogy_closures in a transaction of its own, so the pool needs
	// that right; so does storing a closure's dictionary (see Traverse).
	// Negative: never store either (those stored by other walkers are
	// still read). Default: DefaultClosureEdges.
	ClosureEdges int
	// ClosureDelta is how many edges written since a closure was stored
	// make a walker that read them store the closure again: each reader
	// reads and merges those edges, a store costs one writer once. It is
	// also how many names and events a Traverse must look up beside a
	// closure's dictionary to store the dictionary again. It must not be
	// negative. Default: DefaultClosureDelta, or a thirty-second of the
	// closure's edges when that is more.
	ClosureDelta int
}

// Walker traces over the tables Install made. It is safe for concurrent use.
type Walker struct {
	pool         *pgxpool.Pool
	smallWalk    int
	closureEdges int
	closureDelta int
	// explicitDelta: closureDelta was set, not defaulted.
	explicitDelta bool
	q             queries

	mu    sync.Mutex
	kinds map[int16]string // the kinds table, append-only, cached
}

// queries are the walker's statements; those indexed by direction are
// [forward, backward].
type queries struct {
	small, level, delta, readClosure, readResolved [2]string
	names, ids, kinds, proofs                      string
	writeClosure, writeDict, snapshot              string
	verifyEdges, verifyResolved, allClosures       string
	verifyClosure                                  [2]string
}

// New returns a walker; it does no I/O. It returns an error for a nil pool,
// a nil cfg or a Config field that is not valid, naming it.
func New(pool *pgxpool.Pool, cfg *Config) (*Walker, error) {
	if pool == nil {
		return nil, errors.New("pgwalk: New: pool is nil")
	}
	if cfg == nil || cfg.Schema == "" {
		return nil, errors.New("pgwalk: New: Config.Schema is required")
	}
	c := *cfg
	switch {
	case c.SmallWalk < 0:
		return nil, fmt.Errorf("pgwalk: New: Config.SmallWalk: %d is negative", c.SmallWalk)
	case c.SmallWalk == 0:
		c.SmallWalk = DefaultSmallWalk
	}
	if c.ClosureEdges == 0 {
		c.ClosureEdges = DefaultClosureEdges
	}
	switch {
	case c.ClosureDelta < 0:
		return nil, fmt.Errorf("pgwalk: New: Config.ClosureDelta: %d is negative", c.ClosureDelta)
	case c.ClosureDelta == 0:
		c.ClosureDelta = DefaultClosureDelta
	}
	w := &Walker{pool: pool, smallWalk: c.SmallWalk, closureEdges: c.ClosureEdges, closureDelta: c.ClosureDelta,
		explicitDelta: cfg.ClosureDelta != 0, q: newQueries(pgx.Identifier{c.Schema}.Sanitize())}
	return w, nil
}

func newQueries(s string) queries {
	var q queries
	for i, d := range []struct{ dir, near, far, backward string }{
		{"forward", "from_n", "to_n", "false"},
		{"backward", "to_n", "from_n", "true"},
	} {
		q.small[i] = `SELECT depth, near, far, kind, position, ord, from_name, to_name, stream, version, hash, total
			FROM ` + s + `.genealogy_` + d.dir + `($1, $2, $3, $4, $5)`
		q.level[i] = `SELECT ` + d.near + `, ` + d.far + `, kind, position, ord FROM ` + s + `.genealogy_edges WHERE ` + d.near + ` = ANY($1::int4[])`
		q.readClosure[i] = `SELECT c.root, c.refs FROM ` + s + `.genealogy_closures c
			JOIN ` + s + `.genealogy_nodes n ON n.id = c.root WHERE n.name = $1 AND c.backward = ` + d.backward
		q.readResolved[i] = `SELECT c.root, c.refs, c.resolved FROM ` + s + `.genealogy_closures c
			JOIN ` + s + `.genealogy_nodes n ON n.id = c.root WHERE n.name = $1 AND c.backward = ` + d.backward
		// The edges the closure's snapshot did not see: written by a
		// transaction at or past its xmin (the BRIN range) and not
		// visible in it. The subquery is evaluated once, before the scan.
		q.delta[i] = `SELECT e.` + d.near + `, e.` + d.far + `, e.kind, e.position, e.ord FROM ` + s + `.genealogy_edges e
			CROSS JOIN (SELECT c.snap FROM ` + s + `.genealogy_closures c JOIN ` + s + `.genealogy_nodes n ON n.id = c.root
				WHERE n.name = $1 AND c.backward = ` + d.backward + `) c
			WHERE e.xid >= (SELECT pg_snapshot_xmin(c.snap)::text::bigint FROM ` + s + `.genealogy_closures c
				JOIN ` + s + `.genealogy_nodes n ON n.id = c.root WHERE n.name = $1 AND c.backward = ` + d.backward + `)
			AND NOT pg_visible_in_snapshot(e.xid::text::xid8, c.snap)`
	}
	q.names = `SELECT id, name FROM ` + s + `.genealogy_nodes WHERE name = ANY($1::text[])`
	q.ids = `SELECT id, name FROM ` + s + `.genealogy_nodes WHERE id = ANY($1::int4[])`
	q.kinds = `SELECT id, kind FROM ` + s + `.genealogy_kinds`
	q.proofs = `SELECT e.position, e.stream, e.version, e.hash FROM ` + s + `.events e WHERE e.position = ANY($1::int8[])`
	// Through the migration's functions, which run with the owner's
	// rights: a closure replaces another only when its snapshot is not
	// older, so that two walkers storing at once keep the fresher; a
	// dictionary replaces a smaller one only, as every dictionary is right
	// and a larger one leaves less to look up.
	q.writeClosure = `SELECT ` + s + `.genealogy_store_closure($1, $2, $3, $4, $5)`
	q.writeDict = `SELECT ` + s + `.genealogy_store_dict($1, $2, $3::bytea)`
	q.snapshot = `SELECT pg_current_snapshot()::text`
	q.verifyEdges = `SELECT coalesce(x.position, l.position), coalesce(x.ord, l.ord),
			CASE WHEN l.position IS NULL THEN 'no link holds this edge'
				WHEN x.position IS NULL THEN 'the link has no edge'
				ELSE 'the edge differs from its link' END
		FROM (SELECT e.position, e.ord, f.name AS f, t.name AS t, k.kind AS k FROM ` + s + `.genealogy_edges e
			JOIN ` + s + `.genealogy_nodes f ON f.id = e.from_n JOIN ` + s + `.genealogy_nodes t ON t.id = e.to_n
			JOIN ` + s + `.genealogy_kinds k ON k.id = e.kind) x
		FULL JOIN ` + s + `.links l ON l.position = x.position AND l.ord = x.ord
		WHERE l.position IS NULL OR x.position IS NULL OR l.from_id <> x.f OR l.to_id <> x.t OR l.kind <> x.k
		ORDER BY 1, 2`
	q.verifyResolved = `SELECT coalesce(r.position, l.position), coalesce(r.ord, l.ord),
			CASE WHEN l.position IS NULL THEN 'no link holds this row'
				WHEN r.position IS NULL THEN 'the link has no row'
				ELSE 'the row differs from its link or its record' END
		FROM ` + s + `.genealogy_resolved r
		FULL JOIN (` + s + `.links l JOIN ` + s + `.events ev ON ev.position = l.position)
			ON l.position = r.position AND l.ord = r.ord
		WHERE l.position IS NULL OR r.position IS NULL OR r.from_id <> l.from_id OR r.to_id <> l.to_id
			OR r.stream <> l.stream OR r.version <> l.version OR r.hash <> ev.hash
		ORDER BY 1, 2`
	q.allClosures = `SELECT root, backward, refs, coalesce(resolved, ''::bytea) FROM ` + s + `.genealogy_closures ORDER BY root, backward`
	for i, d := range []struct{ near, far string }{{"from_n", "to_n"}, {"to_n", "from_n"}} {
		q.verifyClosure[i] = `SELECT u.p, u.o FROM unnest($1::int8[], $2::int4[], $3::int4[], $4::int4[], $5::int2[]) AS u(p, o, n, f, k)
			LEFT JOIN ` + s + `.genealogy_edges e ON e.position = u.p AND e.ord = u.o
			WHERE e.position IS NULL OR e.` + d.near + ` <> u.n OR e.` + d.far + ` <> u.f OR e.kind <> u.k`
	}
	return q
}

// Ref is an edge a walk found, by integer ids: Near is the end the walk came
// from, Far the end it went to.
type Ref struct {
	Near, Far int32
	Kind      int16
	Ord       int32
	Position  int64
	Depth     int32
}

// dir indexes the queries of a direction.
func dir(d storage.Direction) int {
	if d == storage.Backward {
		return 1
	}
	return 0
}

// distinct returns the start nodes once each, in their first order.
func distinct(from []string) []string {
	out := make([]string, 0, len(from))
	for _, n := range from {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Reach walks the integer index and returns the edges found, in order of
// depth, without names or proofs: the part of a trace whose cost grows with
// the graph. It returns an error matching storage.ErrInvalid for
// a request backend.ValidateTraverse rejects. A single node's large trace
// may store the node's closure (Config.ClosureEdges); an error doing so is
// returned.
func (w *Walker) Reach(ctx context.Context, req storage.TraverseRequest) ([]Ref, error) {
	if err := backend.ValidateTraverse(req); err != nil {
		return nil, err
	}
	req.From = distinct(req.From)
	var refs []Ref
	done, stored, err := w.small(ctx, req, false, func(r Ref, _ *resolved) { refs = append(refs, r) })
	if err != nil || done {
		slices.SortStableFunc(refs, func(a, b Ref) int { return cmp.Compare(a.Depth, b.Depth) })
		return refs, err
	}
	refs, _, err = w.large(ctx, req, stored, false)
	return refs, err
}

// Traverse answers req as storage.Store.Traverse does, with the same edges
// in the same order. A small trace comes resolved from its one statement; a
// large one is Reach's, its names and proving events taken from the
// dictionary stored beside its closure where there is one, and the rest
// read in one round trip (ids, names and events are append-only, so
// resolving them after the walk reads what the walk saw). It returns an
// error matching storage.ErrInvalid for a request backend.ValidateTraverse
// rejects. A trace from a stored closure that read many names and events
// stores them in its dictionary; an error doing so is returned.
func (w *Walker) Traverse(ctx context.Context, req storage.TraverseRequest) ([]storage.Edge, error) {
	if err := backend.ValidateTraverse(req); err != nil {
		return nil, err
	}
	req.From = distinct(req.From)
	var refs []Ref
	var res []resolved
	done, stored, err := w.small(ctx, req, true, func(r Ref, x *resolved) {
		refs = append(refs, r)
		res = append(res, *x)
	})
	if err != nil {
		return nil, err
	}
	if !done {
		return w.traverseLarge(ctx, req, stored)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	kinds, err := w.kindTable(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make([]storage.Edge, len(refs))
	for i, r := range refs {
		x := &res[i]
		out[i] = storage.Edge{
			Link:   audit.Link{From: x.from, To: x.to, Kind: kinds[r.Kind]},
			Stream: x.stream, Version: x.version, Position: r.Position, Hash: x.hash, Depth: int(r.Depth),
		}
	}
	slices.SortFunc(out, compareEdges)
	return out, nil
}

// traverseLarge is Traverse of a trace too large for small.
func (w *Walker) traverseLarge(ctx context.Context, req storage.TraverseRequest, stored bool) ([]storage.Edge, error) {
	refs, c, err := w.large(ctx, req, stored, true)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	// Sorted by integers first, the edges need names compared only
	// between edges of one event at one depth.
	if !slices.IsSortedFunc(refs, compareRefs) {
		slices.SortFunc(refs, compareRefs)
	}
	kinds, err := w.kindTable(ctx, refs)
	if err != nil {
		return nil, err
	}
	dc, err := unpackDict(c.dict)
	if err != nil {
		return nil, fmt.Errorf("pgwalk: traverse: dictionary of %s: %w", req.From[0], err)
	}
	out, names, proofs, err := w.resolve(ctx, req.Direction, refs, dc, kinds)
	if err != nil {
		return nil, err
	}
	if c.kept && w.closureEdges >= 0 && len(names)+len(proofs) >= w.deltaLimit(len(c.refs)) {
		if err := w.storeDict(ctx, req, c.root, dc.withEntries(names, proofs)); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Depth == out[i].Depth && out[j].Position == out[i].Position {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(out[i:j], compareEdges)
		}
		i = j
	}
	return out, nil
}

// compareEdges is backend.Walk's order: depth, position, from, to, kind.
func compareEdges(a, b storage.Edge) int {
	if a.Depth != b.Depth {
		return cmp.Compare(a.Depth, b.Depth)
	}
	if a.Position != b.Position {
		return cmp.Compare(a.Position, b.Position)
	}
	if c := strings.Compare(a.From, b.From); c != 0 {
		return c
	}
	if c := strings.Compare(a.To, b.To); c != 0 {
		return c
	}
	return strings.Compare(a.Kind, b.Kind)
}

// kindTable returns the names of the kinds of refs, indexed by kind id.
func (w *Walker) kindTable(ctx context.Context, refs []Ref) ([]string, error) {
	ids := make([]int16, 0, 8)
	top := int16(0)
	for _, r := range refs {
		if !slices.Contains(ids, r.Kind) {
			ids = append(ids, r.Kind)
			top = max(top, r.Kind)
		}
	}
	kinds, err := w.kindNames(ctx, nil, ids...)
	if err != nil {
		return nil, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	table := make([]string, int(top)+1)
	for _, id := range ids {
		k, ok := kinds[id]
		if !ok || id < 0 {
			return nil, fmt.Errorf("pgwalk: traverse: kind %d is not in the kinds table", id)
		}
		table[id] = k
	}
	return table, nil
}

// resolved is what Traverse adds to a Ref: the names of its ends, the way
// the link points, and its proving event.
type resolved struct {
	from, to string
	stream   string
	version  int64
	hash     audit.Hash
}

// small runs the one-statement walk and calls found for each edge of the
// answer, with its names and proof when resolve is set. done is false
// when the statement stopped at its row limit or pointed at a stored
// closure (stored), and the trace must be walked another way; found has
// not been called then.
func (w *Walker) small(ctx context.Context, req storage.TraverseRequest, resolve bool, found func(Ref, *resolved)) (done, stored bool, err error) {
	var kinds []string
	if len(req.Kinds) > 0 {
		kinds = req.Kinds
	}
	limit := 4 * w.smallWalk
	rows, err := w.pool.Query(ctx, w.q.small[dir(req.Direction)], req.From, req.MaxDepth, kinds, limit, resolve)
	if err != nil {
		return false, false, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	// Scanned without an allocation per column: the names are NULL when
	// resolve is not set, and the hash is copied out of the driver's row.
	var (
		r                Ref
		x                resolved
		from, to, stream pgtype.Text
		version          pgtype.Int8
		hash             pgtype.DriverBytes
		total            int64
		refs             []Ref
		res              []resolved
		cut              bool
	)
	_, err = pgx.ForEachRow(rows, []any{&r.Depth, &r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord, &from, &to, &stream, &version, &hash, &total}, func() error {
		if total < 0 || total >= int64(limit) {
			cut, stored = true, total < 0
			return nil
		}
		if resolve {
			if !from.Valid || !to.Valid || !stream.Valid || !version.Valid || len(hash) != len(x.hash) {
				return fmt.Errorf("edge (%d, %d) at position %d: its node names or proving event are missing", r.Near, r.Far, r.Position)
			}
			x.from, x.to, x.stream, x.version = from.String, to.String, stream.String, version.Int64
			copy(x.hash[:], hash)
		}
		refs = append(refs, r)
		res = append(res, x)
		return nil
	})
	if err != nil {
		return false, false, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	if cut {
		return false, stored, nil
	}
	// The rows have every depth each edge is reached at; backend.Walk's
	// edges are those whose near end is at its shortest distance. In
	// depth order, an end's first depth is its shortest; start nodes with
	// edges are the near ends at depth 1.
	order := make([]int, len(refs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(refs[a].Depth, refs[b].Depth) })
	dist := make(map[int32]int32, len(refs))
	for _, r := range refs {
		if r.Depth == 1 {
			dist[r.Near] = 0
		}
	}
	for _, i := range order {
		r := refs[i]
		if d, ok := dist[r.Near]; !ok || d != r.Depth-1 {
			continue
		}
		if _, ok := dist[r.Far]; !ok {
			dist[r.Far] = r.Depth
		}
		found(r, &res[i])
	}
	return true, false, nil
}

// large answers a trace too large for small: from the start node's stored
// closure when small found one and it answers req, else level by level. A
// single node's walk that is its closure (it saw every edge, to
// storage.MaxTraverseDepth or to its end, none left out by kind) is stored
// as one when it is large enough. The closure it returns has kept set when
// the start node has a stored closure (read or stored now), and its
// dictionary when withDict was set and one was read.
func (w *Walker) large(ctx context.Context, req storage.TraverseRequest, stored, withDict bool) ([]Ref, *closure, error) {
	c := &closure{}
	if stored {
		refs, ok, err := w.fromStored(ctx, req, withDict, c)
		if err != nil || ok {
			return refs, c, err
		}
	}
	var snap string
	var whole bool
	var refs []Ref
	err := w.read(ctx, func(tx pgx.Tx) error {
		if len(req.From) == 1 && w.closureEdges >= 0 {
			if err := tx.QueryRow(ctx, w.q.snapshot).Scan(&snap); err != nil {
				return err
			}
		}
		var err error
		refs, whole, err = w.levels(ctx, tx, req)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if whole && snap != "" && len(refs) > 0 {
		// The walk's closure replaces the one read, if any; a dictionary
		// read stays right for it.
		fresh := &closure{root: refs[0].Near, refs: refs, snap: snap, dict: c.dict}
		ok, err := w.storeClosure(ctx, req, fresh)
		if err != nil {
			return nil, nil, err
		}
		fresh.kept = ok || c.kept
		c = fresh
	}
	return refs, c, nil
}

// read runs fn in a read-only REPEATABLE READ transaction: one snapshot for
// every query of a walk.
func (w *Walker) read(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, w.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	if err != nil {
		return fmt.Errorf("pgwalk: traverse: %w", err)
	}
	return nil
}

// querier is what kindNames reads with: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// kindNames returns the kinds table, read again when it lacks an id; q nil
// reads with the pool.
func (w *Walker) kindNames(ctx context.Context, q querier, need ...int16) (map[int16]string, error) {
	if q == nil {
		q = w.pool
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	fresh := w.kinds != nil
	for _, k := range need {
		if _, ok := w.kinds[k]; !ok {
			fresh = false
		}
	}
	if fresh {
		return w.kinds, nil
	}
	kinds := map[int16]string{}
	rows, err := q.Query(ctx, w.q.kinds)
	if err != nil {
		return nil, err
	}
	var kid int16
	var kname string
	if _, err := pgx.ForEachRow(rows, []any{&kid, &kname}, func() error { kinds[kid] = kname; return nil }); err != nil {
		return nil, err
	}
	w.kinds = kinds
	return kinds, nil
}

// levels walks breadth first, one batched query per level, each node
// expanded once at its shortest distance, as backend.Walk does. whole is
// true when the walk saw every edge it reached: it ended before
// req.MaxDepth or at storage.MaxTraverseDepth, and left none out by kind.
func (w *Walker) levels(ctx context.Context, tx pgx.Tx, req storage.TraverseRequest) (refs []Ref, whole bool, err error) {
	var want map[int16]bool
	if len(req.Kinds) > 0 {
		kinds, err := w.kindNames(ctx, tx)
		if err != nil {
			return nil, false, err
		}
		want = map[int16]bool{}
		for id, k := range kinds {
			if slices.Contains(req.Kinds, k) {
				want[id] = true
			}
		}
	}
	rows, err := tx.Query(ctx, w.q.names, req.From)
	if err != nil {
		return nil, false, err
	}
	var seen bitset
	var frontier []int32
	var id int32
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		if !seen.has(id) {
			seen.set(id)
			frontier = append(frontier, id)
		}
		return nil
	}); err != nil {
		return nil, false, err
	}
	q := w.q.level[dir(req.Direction)]
	leftOut := false
	for depth := int32(1); int(depth) <= req.MaxDepth && len(frontier) > 0; depth++ {
		rows, err := tx.Query(ctx, q, frontier)
		if err != nil {
			return nil, false, fmt.Errorf("depth %d: %w", depth, err)
		}
		var next []int32
		var r Ref
		r.Depth = depth
		_, err = pgx.ForEachRow(rows, []any{&r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord}, func() error {
			if want != nil && !want[r.Kind] {
				leftOut = true
				return nil
			}
			refs = append(refs, r)
			if !seen.has(r.Far) {
				seen.set(r.Far)
				next = append(next, r.Far)
			}
			return nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("depth %d: %w", depth, err)
		}
		frontier = next
	}
	whole = !leftOut && (len(frontier) == 0 || req.MaxDepth == storage.MaxTraverseDepth)
	return refs, whole, nil
}

// resolve returns refs, found walking in direction d, as edges: the names
// of their ends and their proving events from dc where it has them, the
// rest read from the tables in one round trip (names and proofs: what was
// read). kinds holds the kinds' names by id.
func (w *Walker) resolve(ctx context.Context, d storage.Direction, refs []Ref, dc *dict, kinds []string) (out []storage.Edge, names map[int32]string, proofs map[int64]proof, err error) {
	ni := newKeyIndex(len(dc.ids), func(i int) int64 { return int64(dc.ids[i]) })
	pi := newKeyIndex(len(dc.positions), func(i int) int64 { return dc.positions[i] })
	var ids []int32
	var positions []int64
	for _, r := range refs {
		if ni.find(int64(r.Near)) < 0 {
			ids = append(ids, r.Near)
		}
		if ni.find(int64(r.Far)) < 0 {
			ids = append(ids, r.Far)
		}
		if pi.find(r.Position) < 0 {
			positions = append(positions, r.Position)
		}
	}
	if len(ids)+len(positions) > 0 {
		if names, proofs, err = w.lookup(ctx, ids, positions); err != nil {
			return nil, nil, nil, fmt.Errorf("pgwalk: traverse: %w", err)
		}
	}
	name := func(id int32) (string, bool) {
		if i := ni.find(int64(id)); i >= 0 {
			return dc.str(dc.names[i]), true
		}
		n, ok := names[id]
		return n, ok
	}
	out = make([]storage.Edge, len(refs))
	for i, r := range refs {
		near, ok1 := name(r.Near)
		far, ok2 := name(r.Far)
		e := &out[i]
		ok3 := true
		if j := pi.find(r.Position); j >= 0 {
			e.Stream, e.Version, e.Hash = dc.str(dc.streams[j]), dc.versions[j], dc.hash(j)
		} else {
			var p proof
			p, ok3 = proofs[r.Position]
			e.Stream, e.Version, e.Hash = p.stream, p.version, p.hash
		}
		if !ok1 || !ok2 || !ok3 {
			return nil, nil, nil, fmt.Errorf("pgwalk: traverse: edge (%d, %d) at position %d: its node names or proving event are missing", r.Near, r.Far, r.Position)
		}
		if d == storage.Backward {
			near, far = far, near
		}
		e.From, e.To, e.Kind = near, far, kinds[r.Kind]
		e.Position, e.Depth = r.Position, int(r.Depth)
	}
	return out, names, proofs, nil
}

// lookup reads the names of nodes ids and the proving events at positions
// (either may repeat) in one round trip.
func (w *Walker) lookup(ctx context.Context, ids []int32, positions []int64) (map[int32]string, map[int64]proof, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Sort(positions)
	positions = slices.Compact(positions)
	names := make(map[int32]string, len(ids))
	proofs := make(map[int64]proof, len(positions))
	batch := &pgx.Batch{}
	var id int32
	var name string
	batch.Queue(w.q.ids, ids).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
		return err
	})
	var pos int64
	var e proof
	var hash []byte
	batch.Queue(w.q.proofs, positions).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&pos, &e.stream, &e.version, &hash}, func() error {
			if len(hash) != len(e.hash) {
				return fmt.Errorf("event at position %d: a hash of %d bytes", pos, len(hash))
			}
			copy(e.hash[:], hash)
			proofs[pos] = e
			return nil
		})
		return err
	})
	// One pipeline, one implicit transaction: ids, names and events are
	// append-only, so any snapshot after the walk's has what it found.
	if err := w.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, nil, err
	}
	return names, proofs, nil
}

// bitset holds node ids seen by a walk; ids are dense from 1.
type bitset []uint64

func (b *bitset) has(i int32) bool {
	w := int(i) / 64
	return w < len(*b) && (*b)[w]&(1<<(uint(i)%64)) != 0
}

func (b *bitset) set(i int32) {
	w := int(i) / 64
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w-len(*b)+1+len(*b)/2)...)
	}
	(*b)[w] |= 1 << (uint(i) % 64)
}
