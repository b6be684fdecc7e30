package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// stepClock returns a clock that moves by 1.5 µs a call, so that
// consecutive records differ in time and truncation to microseconds shows.
func stepClock() storage.Clock {
	t := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(1500 * time.Nanosecond)
		return t
	}
}

func event(typ, payload, evidence string, links ...audit.Link) storage.Event {
	ev := storage.Event{Type: typ, Actor: "tester", Links: links}
	if payload != "" {
		ev.Payload = json.RawMessage(payload)
	}
	if evidence != "" {
		ev.Evidence = json.RawMessage(evidence)
	}
	return ev
}

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func appendOK(t tb, s *Store, req storage.AppendRequest) []audit.Record {
	t.Helper()
	res, err := s.Append(context.Background(), req)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res.Records
}

func readAll(t tb, s *Store) []audit.Record {
	t.Helper()
	recs, err := s.ReadAll(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return recs
}

// scanAll keeps what Scan hands out, which its contract does not allow a
// caller to do; records must still not share their links.
func scanAll(t tb, s *Store, after int64) []audit.Record {
	t.Helper()
	var out []audit.Record
	if err := s.Scan(context.Background(), after, func(r *audit.Record) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

// blob is a JSON object of about n bytes.
func blob(n int) string {
	return `{"s":"` + strings.Repeat("x", max(0, n-8)) + `"}`
}

// TestBytesAcrossChunks stores payloads around the sizes where the arena
// starts a chunk or gives a record a chunk of its own, and reads them all
// back by every path.
func TestBytesAcrossChunks(t *testing.T) {
	t.Parallel()
	s := New(&Config{Clock: stepClock()})
	sizes := []int{10, chunkSize / 4, chunkSize/4 + 1, 20_000, 20_000, 20_000, 20_000, chunkSize - 100, 3 * chunkSize, 10, 500_000, 10}
	var want []audit.Record
	for i, n := range sizes {
		evidence := ""
		if i%2 == 1 {
			evidence = blob(n / 3)
		}
		want = append(want, appendOK(t, s, storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: "batch-1", ExpectedVersion: int64(i), Events: []storage.Event{event("step.completed", blob(n), evidence)},
		}}})...)
	}
	if diff := cmp.Diff(want, readAll(t, s), rawEqual); diff != "" {
		t.Errorf("ReadAll (-appended +read):\n%s", diff)
	}
	loaded, err := s.Load(context.Background(), "batch-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, loaded, rawEqual); diff != "" {
		t.Errorf("Load (-appended +loaded):\n%s", diff)
	}
	if diff := cmp.Diff(want, scanAll(t, s, 0), rawEqual); diff != "" {
		t.Errorf("Scan (-appended +scanned):\n%s", diff)
	}
	for i, c := range s.data.chunks {
		if len(c) > cap(c) || (cap(c) != chunkSize && len(c) != cap(c)) {
			t.Errorf("chunk %d: len %d, cap %d", i, len(c), cap(c))
		}
	}
}

// TestCopiesAreIndependent changes and extends what Append and Load return
// and checks that neither the store nor the neighbouring records see it.
func TestCopiesAreIndependent(t *testing.T) {
	t.Parallel()
	s := New(&Config{Clock: stepClock()})
	l1 := audit.Link{From: "lot-1", To: "batch-1", Kind: "consumed"}
	l2 := audit.Link{From: "lot-2", To: "batch-1", Kind: "consumed"}
	req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-1", Events: []storage.Event{
		event("a", `{"n":1}`, `{"scale":"SC-01"}`, l1),
		event("b", `{"n":2}`, `{"scale":"SC-02"}`, l2),
	}}}}
	appended := appendOK(t, s, req)
	want := readAll(t, s)
	loaded, err := s.Load(context.Background(), "batch-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, recs := range [][]audit.Record{appended, loaded} {
		_ = append(recs[0].Payload, "XXXXXXXXXXXXXXXX"...)
		_ = append(recs[0].Evidence, "XXXXXXXXXXXXXXXX"...)
		_ = append(recs[0].Links, audit.Link{From: "x", To: "y", Kind: "z"})
		if got := string(recs[0].Evidence) + string(recs[1].Payload); got != `{"scale":"SC-01"}{"n":2}` {
			t.Errorf("appending to a returned payload or evidence wrote into its neighbour: %s", got)
		}
		if recs[1].Links[0] != l2 {
			t.Errorf("appending to returned links wrote into the next record's: %v", recs[1].Links)
		}
		recs[0].Payload[1] = 'X'
		recs[0].Evidence[1] = 'X'
		recs[0].Links[0].From = "changed"
	}
	if diff := cmp.Diff(want, readAll(t, s), rawEqual); diff != "" {
		t.Errorf("the store changed with its callers' copies (-before +after):\n%s", diff)
	}
}

// TestTimeKept checks that a record's time comes back exactly as it was
// hashed, whatever the clock's location and era.
func TestTimeKept(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("UTC+5", 5*3600)
	for _, at := range []time.Time{
		time.Date(2026, 11, 25, 6, 0, 0, 123_456_789, east),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(12_000, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local),
		time.Now(), // with a monotonic reading
	} {
		s := New(&Config{Clock: func() time.Time { return at }})
		got := appendOK(t, s, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", Events: []storage.Event{event("t", "", "")}}}})
		want := at.UTC().Truncate(audit.TimePrecision)
		read := readAll(t, s)
		if got[0].Time != want || read[0].Time != want {
			t.Errorf("clock %v: appended %#v, read %#v; want %#v", at, got[0].Time, read[0].Time, want)
		}
		if _, err := storage.Verify(context.Background(), s, nil, nil); err != nil {
			t.Errorf("clock %v: Verify: %v", at, err)
		}
	}
}

// TestEntryBlockFillsPages keeps the index entries at the size their
// blocks are chosen for: a block of whole 8 KiB pages wastes no memory.
func TestEntryBlockFillsPages(t *testing.T) {
	t.Parallel()
	if size := unsafe.Sizeof(entry{}); size != 80 || size<<entryBits%8192 != 0 {
		t.Errorf("an entry has %d bytes, a block of %d of them %d: not whole pages of 8 KiB", size, 1<<entryBits, size<<entryBits)
	}
}

// TestFull checks that an append beyond what the store can number is
// refused whole.
func TestFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	link := audit.Link{From: "a", To: "b", Kind: "k"}
	for _, tt := range []struct {
		name  string
		limit int
		req   storage.AppendRequest
	}{
		{"records", 3, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", ExpectedVersion: 2, Events: []storage.Event{event("t", "", ""), event("t", "", "")}}}}},
		{"links", 3, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", ExpectedVersion: 2, Events: []storage.Event{event("t", "", "", link)}}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(nil)
			s.limit = tt.limit
			appendOK(t, s, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "s", Events: []storage.Event{event("t", "", "", link), event("t", "", "")}}}})
			before := readAll(t, s)
			if _, err := s.Append(ctx, tt.req); !errors.Is(err, ErrFull) {
				t.Fatalf("Append: error = %v, want ErrFull", err)
			}
			if diff := cmp.Diff(before, readAll(t, s), rawEqual); diff != "" {
				t.Errorf("a refused append changed the store (-before +after):\n%s", diff)
			}
			if heads, err := s.Heads(ctx); err != nil || len(heads) != 1 || heads[0].Version != 2 {
				t.Errorf("Heads = %v, %v; want stream s at version 2", heads, err)
			}
		})
	}
}

// reference is a deliberately simple store: the records that appends
// returned, in order.
type reference struct {
	records []audit.Record
	keyed   map[string]keyed
}

type keyed struct {
	req  storage.AppendRequest
	recs []audit.Record
}

func (r *reference) version(stream string) int64 {
	var v int64
	for _, rec := range r.records {
		if rec.Stream == stream {
			v = rec.Version
		}
	}
	return v
}

func (r *reference) head(stream string) audit.Hash {
	h := audit.Genesis(stream)
	for _, rec := range r.records {
		if rec.Stream == stream {
			h = rec.Hash
		}
	}
	return h
}

// edges lists the links of every record whose near end is node.
func (r *reference) edges(node string, dir storage.Direction) []storage.Edge {
	var out []storage.Edge
	for _, rec := range r.records {
		for _, l := range rec.Links {
			if (dir == storage.Forward && l.From == node) || (dir == storage.Backward && l.To == node) {
				out = append(out, storage.Edge{Link: l, Stream: rec.Stream, Version: rec.Version, Position: rec.Position, Hash: rec.Hash, Depth: 1})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b storage.Edge) int {
		if a.Position != b.Position {
			return int(a.Position - b.Position)
		}
		return strings.Compare(a.From+"\x00"+a.To+"\x00"+a.Kind, b.From+"\x00"+b.To+"\x00"+b.Kind)
	})
	return out
}

var (
	refStreams = []string{"batch-1", "lot-1", "eq-1"}
	refNodes   = []string{"n1", "n2", "n3", "n4"}
)

func (r *reference) append(t *rapid.T, s *Store) {
	ctx := context.Background()
	if len(r.keyed) > 0 && rapid.IntRange(0, 4).Draw(t, "replay") == 0 {
		key := rapid.SampledFrom(slices.Sorted(mapKeys(r.keyed))).Draw(t, "key")
		res, err := s.Append(ctx, r.keyed[key].req)
		if err != nil || !res.Replayed {
			t.Fatalf("replay of %q: replayed %v, %v", key, res.Replayed, err)
		}
		if diff := diffRecords(r.keyed[key].recs, res.Records); diff != "" {
			t.Fatalf("replay of %q (-first +replayed):\n%s", key, diff)
		}
		return
	}
	var req storage.AppendRequest
	for _, stream := range rapid.SliceOfNDistinct(rapid.SampledFrom(refStreams), 1, 2, rapid.ID).Draw(t, "streams") {
		sa := storage.StreamAppend{Stream: stream, ExpectedVersion: r.version(stream)}
		for range rapid.IntRange(1, 3).Draw(t, "events") {
			payload := ""
			if n := rapid.IntRange(-1, 300).Draw(t, "payload size"); n >= 0 {
				payload = blob(n)
			}
			evidence := ""
			if rapid.Bool().Draw(t, "evidence") {
				evidence = fmt.Sprintf(`{"scale":"SC-%02d"}`, rapid.IntRange(0, 99).Draw(t, "scale"))
			}
			var links []audit.Link
			for range rapid.IntRange(0, 3).Draw(t, "links") {
				links = append(links, audit.Link{
					From: rapid.SampledFrom(refNodes).Draw(t, "from"),
					To:   rapid.SampledFrom(refNodes).Draw(t, "to"),
					Kind: rapid.SampledFrom([]string{"consumed", "produced"}).Draw(t, "kind"),
				})
			}
			ev := event(rapid.SampledFrom([]string{"step.started", "step.completed"}).Draw(t, "type"), payload, evidence, links...)
			ev.Actor = rapid.SampledFrom([]string{"op-17", "op-18", "scale"}).Draw(t, "actor")
			sa.Events = append(sa.Events, ev)
		}
		req.Streams = append(req.Streams, sa)
	}
	if rapid.Bool().Draw(t, "keyed") {
		req.IdempotencyKey = fmt.Sprintf("key-%d", len(r.keyed))
	}
	res, err := s.Append(ctx, req)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	k := 0
	prev := map[string]audit.Hash{}
	for _, sa := range req.Streams {
		prev[sa.Stream] = r.head(sa.Stream)
	}
	for _, sa := range req.Streams {
		for j := range sa.Events {
			rec := res.Records[k]
			want := int64(len(r.records)) + 1
			if rec.Stream != sa.Stream || rec.Version != sa.ExpectedVersion+int64(j)+1 || rec.Position != want || rec.PrevHash != prev[sa.Stream] {
				t.Fatalf("record %d: %s v%d at %d after %v; want %s v%d at %d after %v", k, rec.Stream, rec.Version, rec.Position, rec.PrevHash, sa.Stream, sa.ExpectedVersion+int64(j)+1, want, prev[sa.Stream])
			}
			if h, _, err := audit.ComputeHash(nil, &rec); err != nil || h != rec.Hash {
				t.Fatalf("record %d: hash %v, recomputed %v, %v", k, rec.Hash, h, err)
			}
			prev[sa.Stream] = rec.Hash
			r.records = append(r.records, rec)
			k++
		}
	}
	if req.IdempotencyKey != "" {
		r.keyed[req.IdempotencyKey] = keyed{req: req, recs: res.Records}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (r *reference) check(t *rapid.T, s *Store) {
	ctx := context.Background()
	if diff := diffRecords(r.records, readAll(t, s)); diff != "" {
		t.Fatalf("ReadAll (-reference +store):\n%s", diff)
	}
	after := rapid.IntRange(0, len(r.records)).Draw(t, "after")
	limit := rapid.IntRange(1, 5).Draw(t, "limit")
	page, err := s.ReadAll(ctx, int64(after), limit)
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffRecords(r.records[after:min(len(r.records), after+limit)], page); diff != "" {
		t.Fatalf("ReadAll(%d, %d) (-reference +store):\n%s", after, limit, diff)
	}
	if diff := diffRecords(r.records[after:], scanAll(t, s, int64(after))); diff != "" {
		t.Fatalf("Scan(%d) (-reference +store):\n%s", after, diff)
	}
	var heads []audit.Head
	for _, stream := range refStreams {
		from := rapid.Int64Range(1, 4).Draw(t, "from")
		var want []audit.Record
		for _, rec := range r.records {
			if rec.Stream == stream && rec.Version >= from {
				want = append(want, rec)
			}
		}
		got, err := s.Load(ctx, stream, from)
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffRecords(want, got); diff != "" {
			t.Fatalf("Load(%s, %d) (-reference +store):\n%s", stream, from, diff)
		}
		if v := r.version(stream); v > 0 {
			heads = append(heads, audit.Head{Stream: stream, Version: v, Hash: r.head(stream)})
		}
	}
	slices.SortFunc(heads, func(a, b audit.Head) int { return strings.Compare(a.Stream, b.Stream) })
	got, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffIf(slices.Equal(heads, got), heads, got); diff != "" {
		t.Fatalf("Heads (-reference +store):\n%s", diff)
	}
	for _, node := range refNodes {
		for _, dir := range []storage.Direction{storage.Forward, storage.Backward} {
			got, err := s.Traverse(ctx, storage.TraverseRequest{From: []string{node}, Direction: dir, MaxDepth: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := r.edges(node, dir)
			if diff := diffIf(slices.Equal(want, got), want, got); diff != "" {
				t.Fatalf("Traverse from %s, direction %d (-reference +store):\n%s", node, dir, diff)
			}
		}
	}
}

// rawEqual compares payloads and evidence as bytes, not element by element
// as cmp does with slices, which is slow for large ones.
// Hashes compare as values for the same reason.
var rawEqual = cmp.Options{
	cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }),
	cmp.Comparer(func(a, b audit.Hash) bool { return a == b }),
}

// diffRecords is cmp.Diff, nil and empty slices alike, that looks for
// differences only when a plain comparison finds some: cmp is slow on the
// many records the property test compares.
func diffRecords(want, got []audit.Record) string {
	return diffIf(slices.EqualFunc(want, got, equalRecords), want, got)
}

func equalRecords(a, b audit.Record) bool {
	return a.Stream == b.Stream && a.Version == b.Version && a.Position == b.Position &&
		a.Type == b.Type && a.Actor == b.Actor && a.Time == b.Time &&
		bytes.Equal(a.Payload, b.Payload) && bytes.Equal(a.Evidence, b.Evidence) &&
		slices.Equal(a.Links, b.Links) && a.PrevHash == b.PrevHash && a.Hash == b.Hash
}

func diffIf(equal bool, want, got any) string {
	if equal {
		return ""
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), rawEqual); diff != "" {
		return diff
	}
	return fmt.Sprintf("%v != %v", want, got)
}

// TestAgainstReference drives random appends, with links, evidence,
// replays and payloads of many sizes, against the store with small and
// normal arena chunks, and checks every read path against a simple
// reference after each one.
func TestAgainstReference(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := New(&Config{Clock: stepClock()})
		s.data.size = rapid.SampledFrom([]int{16, 64, 256, chunkSize}).Draw(t, "chunk size")
		r := &reference{keyed: map[string]keyed{}}
		t.Repeat(map[string]func(*rapid.T){
			"append": func(t *rapid.T) { r.append(t, s) },
			"":       func(t *rapid.T) { r.check(t, s) },
		})
	})
}

// BenchmarkRetained reports the heap the store keeps per record after
// 100,000 appends of one event of about 140 bytes (B/record), and how many
// of those bytes the garbage collector has to scan (scan-B/record). It
// measures memory, not time.
func BenchmarkRetained(b *testing.B) {
	const n = 100_000
	payload := json.RawMessage(`{"batch":"B-2026-0042","step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","scale":"SC-01","stable":true}`)
	ctx := context.Background()
	var perRecord, scanPerRecord float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		scanBefore := scannable()
		s := New(nil)
		for v := range int64(n) {
			req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: fmt.Sprintf("batch-%d", v%100), ExpectedVersion: v / 100, Events: []storage.Event{
				{Type: "step.completed", Actor: "op-17", Payload: payload},
			}}}}
			if _, err := s.Append(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRecord = float64(after.HeapAlloc-before.HeapAlloc) / n
		scanPerRecord = float64(scannable()-scanBefore) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perRecord, "B/record")
	b.ReportMetric(scanPerRecord, "scan-B/record")
}

// scannable is the heap the last collection found it had to scan.
func scannable() float64 {
	sample := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(sample)
	return float64(sample[0].Value.Uint64())
}
