package pgwalk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
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

// entries returns what d holds, as maps.
func entries(d *dict) (map[int32]string, map[int64]proof) {
	names := map[int32]string{}
	for i, id := range d.ids {
		names[id] = d.str(d.names[i])
	}
	proofs := map[int64]proof{}
	for i, p := range d.positions {
		proofs[p] = proof{stream: d.str(d.streams[i]), version: d.versions[i], hash: d.hash(i)}
	}
	return names, proofs
}

var drawNames = rapid.MapOf(rapid.Int32(), rapid.StringMatching(`[a-d]{0,3}`))

var drawProofs = rapid.MapOf(rapid.Int64(), rapid.Custom(func(t *rapid.T) proof {
	p := proof{stream: rapid.StringMatching(`[a-d]{1,3}`).Draw(t, "stream"), version: rapid.Int64().Draw(t, "version")}
	copy(p.hash[:], rapid.SliceOfN(rapid.Byte(), len(p.hash), len(p.hash)).Draw(t, "hash"))
	return p
}))

// TestDictRoundTrip: a dictionary holds what it was made of, packs and
// unpacks to the same, keeps each string once, and adding entries keeps
// those it had (names and events never change, so the first is right).
func TestDictRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		names, proofs := drawNames.Draw(t, "names"), drawProofs.Draw(t, "proofs")
		d := (&dict{}).withEntries(names, proofs)
		gotNames, gotProofs := entries(d)
		if diff := cmp.Diff(names, gotNames); diff != "" {
			t.Fatalf("names (-put +held):\n%s", diff)
		}
		if diff := cmp.Diff(proofs, gotProofs, cmp.AllowUnexported(proof{})); diff != "" {
			t.Fatalf("proofs (-put +held):\n%s", diff)
		}
		b := packDict(d)
		back, err := unpackDict(b)
		if err != nil {
			t.Fatal(err)
		}
		if again := packDict(back); !bytes.Equal(again, b) {
			t.Fatalf("packed %x, unpacked and packed again %x", b, again)
		}
		var strs []string
		for i := range back.ends {
			strs = append(strs, back.str(uint32(i)))
		}
		if len(slices.Compact(slices.Sorted(slices.Values(strs)))) != len(strs) {
			t.Fatalf("strings repeated: %q", strs)
		}

		moreNames, moreProofs := drawNames.Draw(t, "more names"), drawProofs.Draw(t, "more proofs")
		wantNames, wantProofs := maps.Clone(moreNames), maps.Clone(moreProofs)
		maps.Copy(wantNames, names)
		maps.Copy(wantProofs, proofs)
		gotNames, gotProofs = entries(back.withEntries(moreNames, moreProofs))
		if diff := cmp.Diff(wantNames, gotNames); diff != "" {
			t.Fatalf("names after adding (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantProofs, gotProofs, cmp.AllowUnexported(proof{})); diff != "" {
			t.Fatalf("proofs after adding (-want +got):\n%s", diff)
		}
	})
}

func TestUnpackDictRejects(t *testing.T) {
	t.Parallel()
	var h audit.Hash
	good := packDict((&dict{}).withEntries(map[int32]string{1: "L1", 2: "B1"}, map[int64]proof{7: {stream: "B1", version: 1, hash: h}, 9: {stream: "B1", version: 2}}))
	if _, err := unpackDict(good); err != nil {
		t.Fatalf("good: %v", err)
	}
	if d, err := unpackDict(nil); err != nil || len(d.ids)+len(d.positions) != 0 {
		t.Errorf("none stored: %+v, %v; want an empty dictionary", d, err)
	}
	with := func(off int, v uint32) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	// Offsets in good: 2 nodes, 2 events, 2 strings ("L1" ends at 2, "B1" at 4).
	ids, names := dictHeader, dictHeader+8
	positions := names + 8
	streams := positions + 16 + 16
	ends := streams + 8 + 64
	for name, b := range map[string][]byte{
		"other format":        append([]byte{dictFormat + 1}, good[1:]...),
		"short header":        good[:dictHeader-1],
		"short":               good[:len(good)-1],
		"long":                append(slices.Clone(good), 0),
		"more nodes":          with(1, 3),
		"ids unsorted":        with(ids, 5),
		"ids repeated":        with(ids+4, 1),
		"name past strings":   with(names, 2),
		"positions unsorted":  with(positions, 10),
		"stream past strings": with(streams+4, 7),
		"ends backward":       with(ends+4, 1),
		"ends past bytes":     with(ends+4, 5),
	} {
		if _, err := unpackDict(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzUnpackDict: a dictionary that unpacks packs back to the same bytes,
// and none makes unpackDict panic.
func FuzzUnpackDict(f *testing.F) {
	f.Add(packDict((&dict{}).withEntries(map[int32]string{1: "L1", 2: "B1"}, map[int64]proof{7: {stream: "B1", version: 1}})))
	f.Add(packDict(&dict{}))
	f.Add([]byte{dictFormat, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := unpackDict(b)
		if err != nil || len(b) == 0 {
			return
		}
		if again := packDict(d); !bytes.Equal(again, b) {
			t.Fatalf("packed %x, unpacked and packed again %x", b, again)
		}
	})
}

func TestKeyIndex(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		// Keys close together (a dense table) or far apart (a map).
		spread := rapid.SampledFrom([]int64{1, 3, 1 << 40}).Draw(t, "spread")
		keys := rapid.SliceOfDistinct(rapid.Int64Range(-1000, 1000), rapid.ID[int64]).Draw(t, "keys")
		for i := range keys {
			keys[i] *= spread
		}
		slices.Sort(keys)
		x := newKeyIndex(len(keys), func(i int) int64 { return keys[i] })
		for _, k := range rapid.SliceOf(rapid.Int64Range(-1001, 1001)).Draw(t, "lookups") {
			k *= spread
			want, found := slices.BinarySearch(keys, k)
			if !found {
				want = -1
			}
			if got := x.find(k); got != want {
				t.Fatalf("find(%d) = %d, want %d (keys %v)", k, got, want, keys)
			}
		}
	})
}

// TestDictionaryStored: the first Traverse from a stored closure stores its
// dictionary, which holds the names of every node of the closure and every
// proving event, as the tables have them; edges written since are looked
// up, and a Traverse that looked up enough of them stores them too.
func TestDictionaryStored(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	st, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]int64{}
	link := func(stream string, links ...audit.Link) {
		t.Helper()
		_, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: stream, ExpectedVersion: versions[stream],
			Events: []storage.Event{{Type: "lot.linked", Actor: "op", Links: links}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		versions[stream]++
	}
	for i := range 5 {
		a, b := fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i)
		link(a, audit.Link{From: "R", To: a, Kind: "consumed"}, audit.Link{From: a, To: b, Kind: "produced"})
	}
	s := pgx.Identifier{schema}.Sanitize()
	stored := func() *dict {
		t.Helper()
		var b []byte
		if err := pool.QueryRow(ctx, `SELECT c.resolved FROM `+s+`.genealogy_closures c JOIN `+s+`.genealogy_nodes n ON n.id = c.root
			WHERE n.name = 'R' AND NOT c.backward`).Scan(&b); err != nil {
			t.Fatal(err)
		}
		d, err := unpackDict(b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// check compares the stored dictionary with the tables and the trace.
	check := func(trace []storage.Edge) {
		t.Helper()
		names, proofs := entries(stored())
		wantNames, wantProofs := map[int32]string{}, map[int64]proof{}
		rows, err := pool.Query(ctx, `SELECT id, name FROM `+s+`.genealogy_nodes`)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]int32{}
		var id int32
		var name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { byName[name] = id; return nil }); err != nil {
			t.Fatal(err)
		}
		for _, e := range trace {
			wantNames[byName[e.From]], wantNames[byName[e.To]] = e.From, e.To
			wantProofs[e.Position] = proof{stream: e.Stream, version: e.Version, hash: e.Hash}
		}
		if diff := cmp.Diff(wantNames, names); diff != "" {
			t.Fatalf("stored names (-trace +stored):\n%s", diff)
		}
		if diff := cmp.Diff(wantProofs, proofs, cmp.AllowUnexported(proof{})); diff != "" {
			t.Fatalf("stored proofs (-trace +stored):\n%s", diff)
		}
	}
	req := storage.TraverseRequest{From: []string{"R"}, Direction: storage.Forward, MaxDepth: storage.MaxTraverseDepth}
	traverse := func(w *Walker) []storage.Edge {
		t.Helper()
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
		return got
	}
	every, err := New(pool, &Config{Schema: schema, SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := every.Reach(ctx, req); err != nil {
		t.Fatal(err)
	}
	if d := stored(); len(d.ids) != 0 {
		t.Fatalf("Reach stored a dictionary of %d names", len(d.ids))
	}
	check(traverse(every))

	// Written since: looked up by a walker that stores only after many,
	// stored by one that stores after one.
	link("C", audit.Link{From: "B0", To: "C", Kind: "consumed"}, audit.Link{From: "C", To: "D", Kind: "produced"})
	rarely, err := New(pool, &Config{Schema: schema, SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1000})
	if err != nil {
		t.Fatal(err)
	}
	trace := traverse(rarely)
	if names, _ := entries(stored()); slices.Contains(slices.Collect(maps.Values(names)), "D") {
		t.Fatal("a walker with ClosureDelta 1000 stored the dictionary after one new event")
	}
	traverse(every)
	check(trace)
}
