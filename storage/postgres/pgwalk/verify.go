package pgwalk

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Problem is a row of the walker's tables that does not say what the
// record says.
type Problem struct {
	// Table is the table the row is in: genealogy_edges,
	// genealogy_resolved or genealogy_closures.
	Table string
	// Position and Ord name the link (the record at Position, its link
	// Ord); both 0 for a closure that cannot be read at all.
	Position int64
	Ord      int32
	// Root and Backward name the closure, for a problem in one.
	Root     int32
	Backward bool
	Reason   string
}

func (p Problem) String() string {
	if p.Table == "genealogy_closures" {
		return fmt.Sprintf("%s root %d (backward %v), link %d/%d: %s", p.Table, p.Root, p.Backward, p.Position, p.Ord, p.Reason)
	}
	return fmt.Sprintf("%s link %d/%d: %s", p.Table, p.Position, p.Ord, p.Reason)
}

// Verify checks every row of the walker's tables against the store's link
// index, which storage.Verify checks against the records' hashes: every
// edge and resolved row must be a link of the record at its position, with
// the same ends, kind, stream, version and hash, every link must have its
// rows, and every edge of every stored closure and every entry of its
// dictionary must be one the tables hold. It returns what does not hold,
// empty when everything does, in one snapshot.
//
// Traces read these tables, not the records: run Verify with
// storage.Verify, so that an edit of a derived table (by whoever can
// disable its append-only trigger) or a forged closure (by whoever can
// write the cache, which the application role can) is found rather than
// answered from.
func (w *Walker) Verify(ctx context.Context) ([]Problem, error) {
	var out []Problem
	err := w.read(ctx, func(tx pgx.Tx) error {
		for _, q := range []struct{ table, sql string }{
			{"genealogy_edges", w.q.verifyEdges},
			{"genealogy_resolved", w.q.verifyResolved},
		} {
			rows, err := tx.Query(ctx, q.sql)
			if err != nil {
				return err
			}
			var p Problem
			if _, err := pgx.ForEachRow(rows, []any{&p.Position, &p.Ord, &p.Reason}, func() error {
				p.Table = q.table
				out = append(out, p)
				return nil
			}); err != nil {
				return err
			}
		}
		closures, err := w.verifyClosures(ctx, tx)
		out = append(out, closures...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgwalk: verify: %w", err)
	}
	return out, nil
}

func (w *Walker) verifyClosures(ctx context.Context, tx pgx.Tx) ([]Problem, error) {
	rows, err := tx.Query(ctx, w.q.allClosures)
	if err != nil {
		return nil, err
	}
	type stored struct {
		root      int32
		backward  bool
		refs, res []byte
	}
	var cs []stored
	var c stored
	if _, err := pgx.ForEachRow(rows, []any{&c.root, &c.backward, &c.refs, &c.res}, func() error {
		cs = append(cs, stored{c.root, c.backward, append([]byte(nil), c.refs...), append([]byte(nil), c.res...)})
		return nil
	}); err != nil {
		return nil, err
	}
	var out []Problem
	for _, c := range cs {
		bad := func(pos int64, ord int32, format string, args ...any) {
			out = append(out, Problem{Table: "genealogy_closures", Root: c.root, Backward: c.backward, Position: pos, Ord: ord,
				Reason: fmt.Sprintf(format, args...)})
		}
		refs, err := unpackRefs(c.refs)
		if err != nil {
			bad(0, 0, "the closure does not unpack: %v", err)
			continue
		}
		n := len(refs)
		pos, ord, near, far, kind := make([]int64, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int16, n)
		for i, r := range refs {
			pos[i], ord[i], near[i], far[i], kind[i] = r.Position, r.Ord, r.Near, r.Far, r.Kind
		}
		q := w.q.verifyClosure[0]
		if c.backward {
			q = w.q.verifyClosure[1]
		}
		rows, err := tx.Query(ctx, q, pos, ord, near, far, kind)
		if err != nil {
			return nil, err
		}
		var p int64
		var o int32
		if _, err := pgx.ForEachRow(rows, []any{&p, &o}, func() error {
			bad(p, o, "the closure holds an edge the edges table does not")
			return nil
		}); err != nil {
			return nil, err
		}
		if len(c.res) == 0 {
			continue
		}
		d, err := unpackDict(c.res)
		if err != nil {
			bad(0, 0, "the dictionary does not unpack: %v", err)
			continue
		}
		names, proofs, err := w.lookup(ctx, d.ids, d.positions)
		if err != nil {
			return nil, err
		}
		for i, id := range d.ids {
			if got, ok := names[id]; !ok || got != d.str(d.names[i]) {
				bad(0, 0, "the dictionary names node %d %q; the nodes table %q", id, d.str(d.names[i]), got)
			}
		}
		for i, p := range d.positions {
			want, ok := proofs[p]
			if !ok || want.stream != d.str(d.streams[i]) || want.version != d.versions[i] || want.hash != d.hash(i) {
				bad(p, 0, "the dictionary's proving event differs from the record at that position")
			}
		}
	}
	return out, nil
}
