package pgwalk

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/storage"
)

// A closure is the answer of a walk from one node, in one direction, to
// storage.MaxTraverseDepth and over edges of every kind: every edge whose
// near end the walk reaches, at that end's shortest distance plus one. A
// shorter walk's answer is its prefix (the edges up to its depth), and so
// is a walk over some kinds only when the prefix has no edge of another
// kind. Stored with the snapshot it was walked in, it stays exact: the
// edges that snapshot did not see are found by their transaction (xid) and
// merged in by each reader.
//
// Nothing in an append waits for a closure, which is why it is brought up
// to date when read rather than in the append's trigger: keeping it in the
// trigger would make every append that reaches a bulk input's downstream
// (a fifth of them) wait for the others, lest two appends extend it from
// both ends of one new edge unseen by each other.

// refSize is the size of a Ref in a stored closure: position (8 bytes),
// near, far and ord (4 each), kind and depth (2 each), little-endian.
const refSize = 24

// maxStoredRefs bounds a stored closure (bytea holds at most 1 GB).
const maxStoredRefs = 1 << 24

// packRefs packs refs, refSize bytes each, in their order.
func packRefs(refs []Ref) []byte {
	b := make([]byte, 0, len(refs)*refSize)
	for _, r := range refs {
		b = binary.LittleEndian.AppendUint64(b, uint64(r.Position))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.Near))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.Far))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.Ord))
		b = binary.LittleEndian.AppendUint16(b, uint16(r.Kind))
		b = binary.LittleEndian.AppendUint16(b, uint16(r.Depth))
	}
	return b
}

// unpackRefs reads what packRefs wrote for a closure. It returns an error
// for a length that is not a whole number of refs, a depth outside
// 1..storage.MaxTraverseDepth or refs out of depth order.
func unpackRefs(b []byte) ([]Ref, error) {
	if len(b)%refSize != 0 {
		return nil, fmt.Errorf("closure of %d bytes: not a whole number of %d-byte edges", len(b), refSize)
	}
	refs := make([]Ref, len(b)/refSize)
	for i := range refs {
		p := b[i*refSize : (i+1)*refSize]
		refs[i] = Ref{
			Position: int64(binary.LittleEndian.Uint64(p)),
			Near:     int32(binary.LittleEndian.Uint32(p[8:])),
			Far:      int32(binary.LittleEndian.Uint32(p[12:])),
			Ord:      int32(binary.LittleEndian.Uint32(p[16:])),
			Kind:     int16(binary.LittleEndian.Uint16(p[20:])),
			Depth:    int32(binary.LittleEndian.Uint16(p[22:])),
		}
		if refs[i].Depth < 1 || refs[i].Depth > storage.MaxTraverseDepth {
			return nil, fmt.Errorf("closure edge %d: depth %d is outside 1..%d", i, refs[i].Depth, storage.MaxTraverseDepth)
		}
		if i > 0 && refs[i].Depth < refs[i-1].Depth {
			return nil, fmt.Errorf("closure edge %d: depth %d after depth %d", i, refs[i].Depth, refs[i-1].Depth)
		}
	}
	return refs, nil
}

// closure is a closure as a walk holds it.
type closure struct {
	root  int32
	refs  []Ref  // sorted by depth; by compareRefs once merged or stored
	snap  string // the snapshot refs are exact in (pg_snapshot text)
	stale bool   // read with enough edges since to store it again
	kept  bool   // root has a closure stored (read, or stored by this walk)
	dict  []byte // the dictionary stored beside it, when read (see dict.go)
}

// fromStored answers req, a request from one node, from that node's stored
// closure brought up to date, storing it again when it was stale; it reads
// into c, with the closure's dictionary when withDict is set. ok is false
// when none is stored or it cannot answer req (it has edges of a kind req
// leaves out within req.MaxDepth).
func (w *Walker) fromStored(ctx context.Context, req storage.TraverseRequest, withDict bool, c *closure) (refs []Ref, ok bool, err error) {
	var found bool
	err = w.read(ctx, func(tx pgx.Tx) error {
		var err error
		found, err = w.loadClosure(ctx, tx, req, withDict, c)
		return err
	})
	if err != nil || !found {
		return nil, false, err
	}
	c.kept = true
	if c.stale {
		if _, err := w.storeClosure(ctx, req, c); err != nil {
			return nil, false, err
		}
	}
	return w.prefix(ctx, req, c.refs)
}

// storeClosure stores c as the closure of req's start node, when this
// walker stores closures and c is large enough (and not too large), in the
// order of compareRefs, which is how Traverse wants them; stored says
// whether it did.
func (w *Walker) storeClosure(ctx context.Context, req storage.TraverseRequest, c *closure) (stored bool, err error) {
	if w.closureEdges < 0 || len(c.refs) < w.closureEdges || len(c.refs) == 0 || len(c.refs) > maxStoredRefs {
		return false, nil
	}
	slices.SortFunc(c.refs, compareRefs)
	_, err = w.pool.Exec(ctx, w.q.writeClosure, c.root, req.Direction == storage.Backward, c.snap, len(c.refs), packRefs(c.refs))
	if err != nil {
		return false, fmt.Errorf("pgwalk: store the closure of %s: %w", req.From[0], err)
	}
	return true, nil
}

// storeDict stores d as the dictionary of root's closure in req's
// direction, unless a larger one is stored already or d is too large.
func (w *Walker) storeDict(ctx context.Context, req storage.TraverseRequest, root int32, d *dict) error {
	b := packDict(d)
	if len(b) > maxDictBytes {
		return nil
	}
	if _, err := w.pool.Exec(ctx, w.q.writeDict, root, req.Direction == storage.Backward, b); err != nil {
		return fmt.Errorf("pgwalk: store the dictionary of %s: %w", req.From[0], err)
	}
	return nil
}

// deltaLimit is how many edges written since a closure of n edges was
// stored, or names and events read beside its dictionary, make a reader
// store it again: each reader reads and merges them, a store costs one
// writer once.
func (w *Walker) deltaLimit(n int) int {
	if w.explicitDelta {
		return w.closureDelta
	}
	return max(w.closureDelta, n/32)
}

// prefix returns the edges of refs, a closure, that answer req, or ok
// false when req leaves out a kind the closure has within req.MaxDepth.
func (w *Walker) prefix(ctx context.Context, req storage.TraverseRequest, refs []Ref) ([]Ref, bool, error) {
	n, _ := slices.BinarySearchFunc(refs, int32(req.MaxDepth)+1, func(r Ref, d int32) int { return cmp.Compare(r.Depth, d) })
	refs = refs[:n]
	if len(req.Kinds) == 0 || len(refs) == 0 {
		return refs, true, nil
	}
	kinds, err := w.kindNames(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("pgwalk: traverse: %w", err)
	}
	for _, r := range refs {
		k, known := kinds[r.Kind]
		if !known {
			// A kind added since the cache was read.
			if kinds, err = w.kindNames(ctx, nil, r.Kind); err != nil {
				return nil, false, fmt.Errorf("pgwalk: traverse: %w", err)
			}
			k = kinds[r.Kind]
		}
		if !slices.Contains(req.Kinds, k) {
			return nil, false, nil
		}
	}
	return refs, true, nil
}

// loadClosure reads the stored closure of req's start node, with its
// dictionary when withDict is set, and the edges its snapshot did not see,
// and merges them into c, which is then exact in tx's snapshot; found is
// false when none is stored.
func (w *Walker) loadClosure(ctx context.Context, tx pgx.Tx, req storage.TraverseRequest, withDict bool, c *closure) (found bool, err error) {
	d := dir(req.Direction)
	var blob []byte
	var delta []Ref
	batch := &pgx.Batch{}
	read, dest := w.q.readClosure[d], []any{&c.root, &blob}
	if withDict {
		read, dest = w.q.readResolved[d], append(dest, &c.dict)
	}
	batch.Queue(read, req.From[0]).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, dest, func() error { found = true; return nil })
		return err
	})
	batch.Queue(w.q.delta[d], req.From[0]).Query(func(rows pgx.Rows) error {
		var r Ref
		_, err := pgx.ForEachRow(rows, []any{&r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord}, func() error {
			delta = append(delta, r)
			return nil
		})
		return err
	})
	batch.Queue(w.q.snapshot).QueryRow(func(row pgx.Row) error { return row.Scan(&c.snap) })
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return false, err
	}
	if !found {
		return false, nil
	}
	if c.refs, err = unpackRefs(blob); err != nil {
		return false, fmt.Errorf("stored closure of %s: %w", req.From[0], err)
	}
	if c.refs, err = w.merge(ctx, tx, w.q.level[d], c.root, c.refs, delta); err != nil {
		return false, fmt.Errorf("closure of %s: %w", req.From[0], err)
	}
	// A closure an earlier version stored in depth order only is stored
	// again once in compareRefs order, which Traverse then need not sort.
	c.stale = len(delta) >= w.deltaLimit(len(c.refs)) || !slices.IsSortedFunc(c.refs, compareRefs)
	return true, nil
}

// merge brings refs, the closure of root in an older snapshot, up to date
// with delta, the edges that snapshot did not see (near and far the
// closure's way), fetching with level (in tx) the edges of the nodes they
// newly reach. Edges only add paths, so distances only shrink: it relaxes
// them in order of distance, as a breadth-first walk would, moving the
// edges of a node that came nearer to their new depth. Refs it changed
// come back sorted by compareRefs, others as they were.
func (w *Walker) merge(ctx context.Context, tx pgx.Tx, level string, root int32, refs, delta []Ref) ([]Ref, error) {
	const maxDepth = storage.MaxTraverseDepth
	// expanded: nodes whose edges are in refs, those nearer than maxDepth.
	var expanded bitset
	expanded.set(root)
	for _, r := range refs {
		if r.Depth < maxDepth {
			expanded.set(r.Far)
		}
	}
	if !slices.ContainsFunc(delta, func(e Ref) bool { return expanded.has(e.Near) }) {
		return refs, nil
	}
	dist := make(map[int32]int32, len(refs))
	dist[root] = 0
	for _, r := range refs {
		if _, ok := dist[r.Far]; !ok {
			dist[r.Far] = r.Depth
		}
	}
	buckets := map[int32][]int32{}
	lo, hi := int32(maxDepth), int32(0)
	relax := func(v, d int32) {
		if cur, ok := dist[v]; ok && cur <= d {
			return
		}
		dist[v] = d
		buckets[d] = append(buckets[d], v)
		lo, hi = min(lo, d), max(hi, d)
	}
	var byNear map[int32][]int // built at the first node that comes nearer
	add := func(r Ref) {
		refs = append(refs, r)
		if byNear != nil {
			byNear[r.Near] = append(byNear[r.Near], len(refs)-1)
		}
	}
	for _, e := range delta {
		if expanded.has(e.Near) {
			e.Depth = dist[e.Near] + 1
			add(e)
			relax(e.Far, e.Depth)
		}
	}
	for d := lo; d <= hi; d++ {
		var fetch []int32
		for _, v := range buckets[d] {
			if dist[v] != d || d >= maxDepth {
				continue // came nearer still since, or too far to expand
			}
			if !expanded.has(v) {
				expanded.set(v)
				fetch = append(fetch, v)
				continue
			}
			if byNear == nil {
				byNear = make(map[int32][]int, len(dist))
				for i, r := range refs {
					byNear[r.Near] = append(byNear[r.Near], i)
				}
			}
			for _, i := range byNear[v] {
				refs[i].Depth = d + 1
				relax(refs[i].Far, d+1)
			}
		}
		delete(buckets, d)
		if len(fetch) == 0 {
			continue
		}
		rows, err := tx.Query(ctx, level, fetch)
		if err != nil {
			return nil, fmt.Errorf("depth %d: %w", d+1, err)
		}
		var r Ref
		r.Depth = d + 1
		if _, err := pgx.ForEachRow(rows, []any{&r.Near, &r.Far, &r.Kind, &r.Position, &r.Ord}, func() error {
			add(r)
			relax(r.Far, d+1)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("depth %d: %w", d+1, err)
		}
	}
	slices.SortFunc(refs, compareRefs)
	return refs, nil
}
