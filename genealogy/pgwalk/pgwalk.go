// Package pgwalk traces genealogy in Postgres faster than a recursive query
// over the store's link index: it keeps the links again with node ids and
// kinds interned to integers (tables kept by a trigger on links, in the
// append's transaction) and walks them breadth first, one batched query per
// level over a covering index, so every level is one index-only scan of
// narrow integer rows. Only the edges found are then resolved to names and
// proving events.
//
// Its answers are exactly storage.Store.Traverse's (the shared test in
// package genealogy checks it); it exists because Traverse, one text-keyed
// query per level, takes hundreds of milliseconds for a bulk input's trace.
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

//go:embed schema.sql
var schemaSQL string

// Install creates the walker's tables, index and trigger in schema (which
// postgres.Migrate must have migrated) and fills them from the links already
// there, in one transaction; running it again changes nothing. Until the
// store's migrations take it over, call it after postgres.Migrate.
func Install(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if pool == nil {
		return errors.New("pgwalk: install: pool is nil")
	}
	if schema == "" {
		return errors.New("pgwalk: install: empty schema")
	}
	sql := strings.ReplaceAll(schemaSQL, "{schema}", pgx.Identifier{schema}.Sanitize())
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgwalk: install in %s: %w", schema, err)
	}
	return nil
}

// Walker traces over the tables Install made. It is safe for concurrent use.
type Walker struct {
	pool      *pgxpool.Pool
	smallWalk int
	q         struct{ from, to, names, ids, kinds, proofs, walk, walkBack string }

	mu    sync.Mutex
	kinds map[int16]string // the kinds table, append-only, cached
}

// DefaultSmallWalk is the Config.SmallWalk of a config that leaves it zero.
const DefaultSmallWalk = 2000

// Config configures a Walker.
type Config struct {
	// Schema holds the store's tables and the walker's (see Install).
	// Required.
	Schema string
	// SmallWalk is how many nodes the one-statement walk (genealogy_walk)
	// may see before the walker goes level by level instead: the
	// function's seen set is an array, cheap for a typical trace and
	// quadratic for a bulk one. It must not be negative. Default:
	// DefaultSmallWalk.
	SmallWalk int
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
	s := pgx.Identifier{c.Schema}.Sanitize()
	w := &Walker{pool: pool, smallWalk: c.SmallWalk}
	w.q.from = `SELECT from_n, to_n, kind, position, ord FROM ` + s + `.genealogy_edges WHERE from_n = ANY($1::int4[])`
	w.q.to = `SELECT to_n, from_n, kind, position, ord FROM ` + s + `.genealogy_edges WHERE to_n = ANY($1::int4[])`
	w.q.names = `SELECT id, name FROM ` + s + `.genealogy_nodes WHERE name = ANY($1::text[])`
	w.q.ids = `SELECT id, name FROM ` + s + `.genealogy_nodes WHERE id = ANY($1::int4[])`
	w.q.kinds = `SELECT id, kind FROM ` + s + `.genealogy_kinds`
	// The small walk: a recursive query over the integer edges, UNION
	// keeping each edge once per depth it is reached at. It also returns
	// edges of nodes reached again further on, which small drops, and it
	// stops at $4 rows, past which the walker goes level by level.
	walk := func(near, far string) string {
		return `WITH RECURSIVE walk(depth, near, far, kind, position, ord) AS (
			SELECT 1, e.` + near + `, e.` + far + `, e.kind, e.position, e.ord
			FROM ` + s + `.genealogy_nodes n JOIN ` + s + `.genealogy_edges e ON e.` + near + ` = n.id
			WHERE n.name = ANY($1::text[]) AND ($3::int2[] IS NULL OR e.kind = ANY($3::int2[]))
			UNION
			SELECT w.depth + 1, e.` + near + `, e.` + far + `, e.kind, e.position, e.ord
			FROM walk w JOIN ` + s + `.genealogy_edges e ON e.` + near + ` = w.far
			WHERE w.depth < $2 AND ($3::int2[] IS NULL OR e.kind = ANY($3::int2[]))
		) SELECT depth, near, far, kind, position, ord FROM walk LIMIT $4`
	}
	w.q.walk, w.q.walkBack = walk("from_n", "to_n"), walk("to_n", "from_n")
	w.q.proofs = `SELECT e.position, e.stream, e.version, e.hash FROM ` + s + `.events e WHERE e.position = ANY($1::int8[])`
	return w, nil
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

// Reach walks the integer index and returns the edges found, in walk order
// within each depth, without names or proofs: the part of a trace whose cost
// grows with the graph. It returns an error matching storage.ErrInvalid for
// a request storage.ValidateTraverse rejects.
func (w *Walker) Reach(ctx context.Context, req storage.TraverseRequest) ([]Ref, error) {
	if err := storage.ValidateTraverse(req); err != nil {
		return nil, err
	}
	refs, ok, err := w.small(ctx, req)
	if err != nil || ok {
		return refs, err
	}
	err = w.read(ctx, func(tx pgx.Tx) error {
		var err error
		refs, err = w.reach(ctx, tx, req)
		return err
	})
	return refs, err
}

// small runs the walk in one statement; ok is false when the statement
// hit its row limit (4 × smallWalk) and the walk must go level by level.
// The statement reads one snapshot. Its rows include every edge at every
// depth its near end is reached at; the edges of a BFS are those whose near
// end is at its shortest distance, which rows in depth order give.
func (w *Walker) small(ctx context.Context, req storage.TraverseRequest) (refs []Ref, ok bool, err error) {
	var kinds []int16
	if len(req.Kinds) > 0 {
		all, err := w.kindNames(ctx, nil)
		if err != nil {
			return nil, false, fmt.Errorf("pgwalk: traverse: %w", err)
		}
		kinds = []int16{}
		for id, k := range all {
			if slices.Contains(req.Kinds, k) {
				kinds = append(kinds, id)
			}
		}
		if len(kinds) == 0 {
			// A kind the index has never seen may have been added since
			// the cache was read; the level walk reads the table again.
			return nil, false, nil
		}
	}
	q := w.q.walk
	if req.Direction == storage.Backward {
		q = w.q.walkBack
	}
	limit := 4 * w.smallWalk
	rows, err := w.pool.Query(ctx, q, req.From, req.MaxDepth, kinds, limit)
	if err != nil {
		return nil, false, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	var all []Ref
	var r Ref
	if _, err := pgx.ForEachRow(rows, []any{&r.Depth, &r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord}, func() error {
		all = append(all, r)
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	if len(all) >= limit {
		return nil, false, nil
	}
	slices.SortStableFunc(all, func(a, b Ref) int { return cmp.Compare(a.Depth, b.Depth) })
	dist := make(map[int32]int32, len(all))
	for _, r := range all {
		if r.Depth == 1 {
			dist[r.Near] = 0
		}
	}
	for _, r := range all {
		if d, ok := dist[r.Near]; !ok || d != r.Depth-1 {
			continue
		}
		refs = append(refs, r)
		if _, ok := dist[r.Far]; !ok {
			dist[r.Far] = r.Depth
		}
	}
	return refs, true, nil
}

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

func (w *Walker) reach(ctx context.Context, tx pgx.Tx, req storage.TraverseRequest) ([]Ref, error) {
	kinds, err := w.kindNames(ctx, tx)
	if err != nil {
		return nil, err
	}
	want := map[int16]bool{}
	for id, k := range kinds {
		if len(req.Kinds) == 0 || slices.Contains(req.Kinds, k) {
			want[id] = true
		}
	}
	rows, err := tx.Query(ctx, w.q.names, req.From)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	q := w.q.from
	if req.Direction == storage.Backward {
		q = w.q.to
	}
	var refs []Ref
	for depth := int32(1); int(depth) <= req.MaxDepth && len(frontier) > 0; depth++ {
		rows, err := tx.Query(ctx, q, frontier)
		if err != nil {
			return nil, fmt.Errorf("depth %d: %w", depth, err)
		}
		var next []int32
		var r Ref
		r.Depth = depth
		_, err = pgx.ForEachRow(rows, []any{&r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord}, func() error {
			if !want[r.Kind] {
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
			return nil, fmt.Errorf("depth %d: %w", depth, err)
		}
		frontier = next
	}
	return refs, nil
}

// Traverse answers req as storage.Store.Traverse does, with the same edges
// in the same order: Reach, then one round trip for the names of the nodes
// found and their proving events. Ids, names and events are append-only, so
// resolving them after the walk reads what the walk saw. It returns an error
// matching storage.ErrInvalid for a request storage.ValidateTraverse
// rejects.
func (w *Walker) Traverse(ctx context.Context, req storage.TraverseRequest) ([]storage.Edge, error) {
	refs, err := w.Reach(ctx, req)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	ids := make([]int32, 0, len(refs)*2)
	positions := make([]int64, 0, len(refs))
	kindIDs := make([]int16, 0, 8)
	for _, r := range refs {
		ids = append(ids, r.Near, r.Far)
		positions = append(positions, r.Position)
		if !slices.Contains(kindIDs, r.Kind) {
			kindIDs = append(kindIDs, r.Kind)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Sort(positions)
	positions = slices.Compact(positions)
	type ev struct {
		stream  string
		version int64
		hash    audit.Hash
	}
	names := make(map[int32]string, len(ids))
	evs := make(map[int64]ev, len(positions))
	var kinds map[int16]string
	err = pgx.BeginTxFunc(ctx, w.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if kinds, err = w.kindNames(ctx, tx, kindIDs...); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		var id int32
		var name string
		batch.Queue(w.q.ids, ids).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
			return err
		})
		var pos int64
		var e ev
		var hash []byte
		batch.Queue(w.q.proofs, positions).Query(func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&pos, &e.stream, &e.version, &hash}, func() error {
				copy(e.hash[:], hash)
				evs[pos] = e
				return nil
			})
			return err
		})
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	out := make([]storage.Edge, len(refs))
	for i, r := range refs {
		from, to := names[r.Near], names[r.Far]
		if req.Direction == storage.Backward {
			from, to = to, from
		}
		e := evs[r.Position]
		out[i] = storage.Edge{
			Link:   audit.Link{From: from, To: to, Kind: kinds[r.Kind]},
			Stream: e.stream, Version: e.version, Position: r.Position, Hash: e.hash, Depth: int(r.Depth),
		}
	}
	slices.SortFunc(out, func(a, b storage.Edge) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Position, b.Position),
			strings.Compare(a.From, b.From), strings.Compare(a.To, b.To), strings.Compare(a.Kind, b.Kind))
	})
	return out, nil
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
