package pgwalk

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/storage"
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
