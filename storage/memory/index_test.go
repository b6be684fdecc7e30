package memory

import (
	"testing"

	"pgregory.net/rapid"
)

// TestIndexAgainstMap numbers random strings with index and with a Go map:
// both find the same numbers, and index finds nothing it was not given,
// also when hashes collide (the test draws them from a few values) and
// across growth.
func TestIndexAgainstMap(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		x := newIndex()
		var names []string
		want := map[string]uint32{}
		collide := rapid.Bool().Draw(t, "collide")
		hash := func(s string) uint64 {
			if collide {
				return x.hash(s) % 3
			}
			return x.hash(s)
		}
		find := func(s string) (uint32, bool) {
			return x.find(hash(s), func(n uint32) bool { return names[n] == s })
		}
		for range rapid.IntRange(0, 300).Draw(t, "ops") {
			s := rapid.StringMatching(`[a-z]{0,3}`).Draw(t, "s")
			n, ok := find(s)
			wn, wok := want[s]
			if ok != wok || n != wn {
				t.Fatalf("find(%q) = %d, %v; the map has %d, %v", s, n, ok, wn, wok)
			}
			if !ok {
				got := x.add(hash(s))
				if got != uint32(len(names)) {
					t.Fatalf("add(%q) = %d, want %d", s, got, len(names))
				}
				names = append(names, s)
				want[s] = got
			}
		}
		for s, wn := range want {
			if n, ok := find(s); !ok || n != wn {
				t.Fatalf("at the end, find(%q) = %d, %v; want %d", s, n, ok, wn)
			}
		}
		if 2*len(x.hashes) > len(x.slots) && len(x.hashes) > 0 {
			t.Fatalf("%d numbers in %d slots: more than half full", len(x.hashes), len(x.slots))
		}
	})
}
