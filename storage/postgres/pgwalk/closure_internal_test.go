package pgwalk

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestPackRefsRoundTrip: any refs within the stored ranges come back from
// a stored closure as they went in.
func TestPackRefsRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		refs := rapid.SliceOf(rapid.Custom(func(t *rapid.T) Ref {
			return Ref{
				Near:     rapid.Int32().Draw(t, "near"),
				Far:      rapid.Int32().Draw(t, "far"),
				Kind:     rapid.Int16().Draw(t, "kind"),
				Ord:      rapid.Int32().Draw(t, "ord"),
				Position: rapid.Int64().Draw(t, "position"),
				Depth:    rapid.Int32Range(1, storage.MaxTraverseDepth).Draw(t, "depth"),
			}
		})).Draw(t, "refs")
		slices.SortStableFunc(refs, func(a, b Ref) int { return int(a.Depth - b.Depth) })
		got, err := unpackRefs(packRefs(refs))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(refs, got); len(refs) > 0 && diff != "" {
			t.Fatalf("(-packed +unpacked):\n%s", diff)
		}
	})
}

func TestUnpackRefsRejects(t *testing.T) {
	t.Parallel()
	good := packRefs([]Ref{{Near: 1, Far: 2, Kind: 1, Position: 7, Depth: 1}})
	for name, b := range map[string][]byte{
		"short":      good[:refSize-1],
		"long":       append(append([]byte{}, good...), 0),
		"depth zero": packRefs([]Ref{{Depth: 0}}),
		"too deep":   packRefs([]Ref{{Depth: storage.MaxTraverseDepth + 1}}),
		"unsorted":   packRefs([]Ref{{Depth: 2}, {Depth: 1}}),
	} {
		if _, err := unpackRefs(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzUnpackRefs: a stored closure that unpacks packs back to the same
// bytes, and none makes unpackRefs panic.
func FuzzUnpackRefs(f *testing.F) {
	f.Add(packRefs([]Ref{{Near: 1, Far: 2, Kind: 3, Ord: 0, Position: 42, Depth: 1}, {Near: 2, Far: 9, Kind: 1, Ord: 1, Position: 43, Depth: 2}}))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, err := unpackRefs(b)
		if err != nil {
			return
		}
		if again := packRefs(refs); !bytes.Equal(again, b) {
			t.Fatalf("packed %x, unpacked and packed again %x", b, again)
		}
	})
}

// TestClosureStoredAgainInOrder: a closure stored in depth order only (as
// an earlier version stored them) answers as the store does, and the
// first walker that reads it stores it again in compareRefs order.
func TestClosureStoredAgainInOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	st, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		a, b := fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i)
		_, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: a, Events: []storage.Event{{
			Type: "lot.linked", Actor: "op",
			Links: []audit.Link{{From: "R", To: a, Kind: "consumed"}, {From: a, To: b, Kind: "produced"}, {From: a, To: "Z" + b, Kind: "produced"}},
		}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	w, err := New(pool, &Config{Schema: schema, SmallWalk: 1, ClosureEdges: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := storage.TraverseRequest{From: []string{"R"}, Direction: storage.Forward, MaxDepth: storage.MaxTraverseDepth}
	if _, err := w.Reach(ctx, req); err != nil {
		t.Fatal(err)
	}
	s := pgx.Identifier{schema}.Sanitize()
	storedRefs := func() []Ref {
		t.Helper()
		var b []byte
		if err := pool.QueryRow(ctx, `SELECT refs FROM `+s+`.genealogy_closures`).Scan(&b); err != nil {
			t.Fatal(err)
		}
		refs, err := unpackRefs(b)
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	refs := storedRefs()
	if !slices.IsSortedFunc(refs, compareRefs) {
		t.Fatal("a closure stored out of compareRefs order")
	}
	// Each depth reversed: still in depth order, no longer by position.
	slices.Reverse(refs)
	slices.SortStableFunc(refs, func(a, b Ref) int { return int(a.Depth - b.Depth) })
	if _, err := pool.Exec(ctx, `UPDATE `+s+`.genealogy_closures SET refs = $1`, packRefs(refs)); err != nil {
		t.Fatal(err)
	}
	got, err := w.Traverse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.Traverse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Traverse vs store (-want +got):\n%s", diff)
	}
	if refs := storedRefs(); !slices.IsSortedFunc(refs, compareRefs) || len(refs) != len(want) {
		t.Fatalf("stored again: %d edges, in order %v; want %d in order", len(refs), slices.IsSortedFunc(refs, compareRefs), len(want))
	}
}
