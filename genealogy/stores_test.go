package genealogy_test

import (
	"context"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/genealogy/genealogytest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/postgres/pgwalk"
)

var epoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// fixedClock returns a clock that moves one second per call, so that both
// stores stamp the same times on the same events.
func fixedClock() storage.Clock {
	t := epoch
	return func() time.Time { t = t.Add(time.Second); return t }
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// extras are hand-made events on top of a generated plant: a split, a merge,
// a transfer cycle and a hold, the shapes a generator does not make.
func extras(t testing.TB) []storage.AppendRequest {
	t.Helper()
	must := func(ev storage.Event, err error) storage.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	versions := map[string]int64{}
	one := func(stream string, evs ...storage.Event) storage.AppendRequest {
		v := versions[stream]
		versions[stream] += int64(len(evs))
		return storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: v, Events: evs}}}
	}
	return []storage.AppendRequest{
		one("SPLIT-P", must(genealogytest.ReceiveEvent("receiving", genealogytest.Receipt{
			Lot: "SPLIT-P", Material: "MAT-SPLIT", Supplier: "SUP-X", SupplierLot: "X-1",
			Quantity: dec("100"), Unit: "kg", IdentitySource: genealogy.SourceManual,
		}))),
		one("SPLIT-P", must(genealogytest.SplitEvent("operator", "SPLIT-P", dec("100"), "kg", []genealogytest.Portion{
			{Lot: "SPLIT-A", Quantity: dec("60")}, {Lot: "SPLIT-B", Quantity: dec("40")},
		}, genealogy.SourceScan))),
		one("MERGE-M", must(genealogytest.MergeEvent("operator", "MERGE-M", "kg", []genealogytest.Portion{
			{Lot: "SPLIT-A", Quantity: dec("60")}, {Lot: "RAW-0000001", Quantity: dec("5.5")},
		}, genealogy.SourceScan))),
		one("CYC-A", must(genealogytest.FlowEvent("operator", genealogytest.Flow{
			Kind: genealogy.Transferred, Inputs: []genealogytest.Portion{{Lot: "MERGE-M"}}, To: "CYC-A", IdentitySource: genealogy.SourceScan,
		}))),
		one("CYC-B", must(genealogytest.FlowEvent("operator", genealogytest.Flow{
			Kind: genealogy.Transferred, Inputs: []genealogytest.Portion{{Lot: "CYC-A"}}, To: "CYC-B", IdentitySource: genealogy.SourceScan,
		}))),
		one("CYC-A", must(genealogytest.FlowEvent("operator", genealogytest.Flow{
			Kind: genealogy.Transferred, Inputs: []genealogytest.Portion{{Lot: "CYC-B"}}, To: "CYC-A", IdentitySource: genealogy.SourceScan,
		}))),
		one("HOLD-1", must(genealogytest.AnnotationEvent("qa", event.LotHeld, "HOLD-1", "supplier complaint", "SPLIT-P"))),
	}
}

// writePlant appends a small plant and the extras to store.
func writePlant(t testing.TB, store storage.Store) *genealogytest.Plant {
	t.Helper()
	plant, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: 7, Lots: 400, BulkFanout: 15, Levels: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plant.Append(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	for _, req := range extras(t) {
		if _, err := store.Append(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	return plant
}

func flowKinds() []string {
	return []string{"consumed", "produced", "transferred", "split", "merged", "packed", "shipped"}
}

// project turns a graph trace into the store's edge type.
func project(tr *genealogy.Trace) []storage.Edge {
	var out []storage.Edge
	for _, e := range tr.Edges() {
		out = append(out, storage.Edge{
			Link:   auditLink(e),
			Stream: e.Proof.Stream, Version: e.Proof.Version, Position: e.Proof.Position, Hash: e.Proof.Hash, Depth: e.Depth,
		})
	}
	return out
}

type traceCase struct {
	name string
	req  genealogy.TraceRequest
}

func traceCases(plant *genealogytest.Plant) []traceCase {
	var cs []traceCase
	starts := []struct {
		name string
		from []string
	}{
		{"bulk", []string{plant.Bulk[0]}},
		{"raw", []string{plant.Lot(0, 3)}},
		{"finished", []string{plant.Finished(5)}},
		{"cycle", []string{"CYC-B"}},
		{"split", []string{"SPLIT-P"}},
		{"several", []string{plant.Lot(0, 1), plant.Lot(1, 2), plant.Lot(0, 1)}},
		{"unknown", []string{"NO-SUCH-LOT"}},
	}
	for _, st := range starts {
		name, from := st.name, st.from
		for _, dir := range []storage.Direction{storage.Forward, storage.Backward} {
			for _, depth := range []int{1, 2, genealogy.DefaultDepth} {
				cs = append(cs, traceCase{name: name, req: genealogy.TraceRequest{From: from, Direction: dir, MaxDepth: depth}})
			}
			cs = append(cs, traceCase{name: name + "/kinds", req: genealogy.TraceRequest{
				From: from, Direction: dir, MaxDepth: 10, Kinds: []genealogy.Kind{genealogy.Consumed, genealogy.Produced},
			}})
		}
	}
	return cs
}

func storeRequest(r genealogy.TraceRequest) storage.TraverseRequest {
	s := storage.TraverseRequest{From: r.From, Direction: r.Direction, MaxDepth: r.MaxDepth, Kinds: flowKinds()}
	if len(r.Kinds) > 0 {
		s.Kinds = nil
		for _, k := range r.Kinds {
			s.Kinds = append(s.Kinds, string(k))
		}
	}
	return s
}

type storeUnderTest struct {
	name    string
	store   storage.Store
	walkers []*pgwalk.Walker // none for memory
}

func newStores(t *testing.T) []storeUnderTest {
	stores := []storeUnderTest{{name: "memory", store: memory.New(&memory.Config{Clock: fixedClock()})}}
	if pgAvailable(t) {
		pool, schema := pgtest.Pool(t)
		st, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: fixedClock(), ReadAllWait: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var walkers []*pgwalk.Walker
		// The default walks these small traces in one statement; a limit
		// of one node sends all but the first level down the level-by-
		// level path.
		for _, small := range []int{0, 1} {
			w, err := pgwalk.New(pool, &pgwalk.Config{Schema: schema, SmallWalk: small})
			if err != nil {
				t.Fatal(err)
			}
			walkers = append(walkers, w)
		}
		stores = append(stores, storeUnderTest{name: "postgres", store: st, walkers: walkers})
	}
	return stores
}

// TestStoresAgree is the one shared test: on every store, the graph's
// traces equal the store's own Traverse (and, on Postgres, the integer
// walker's), and the graphs built from different stores give the same
// answers but for positions, which each store assigns its own way.
func TestStoresAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var plant *genealogytest.Plant
	type answer struct {
		Edges  []genealogy.Edge
		Recall *genealogy.RecallScope
	}
	answers := map[string][]answer{}
	for _, s := range newStores(t) {
		plant = writePlant(t, s.store)
		g, err := genealogy.Build(ctx, s.store, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range traceCases(plant) {
			tr, err := g.Trace(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			got := project(tr)
			want, err := s.store.Traverse(ctx, storeRequest(c.req))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: %s %+v: graph vs store Traverse (-want +got):\n%s", s.name, c.name, c.req, diff)
			}
			for i, w := range s.walkers {
				wgot, err := w.Traverse(ctx, storeRequest(c.req))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, wgot, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: %s %+v: pgwalk %d vs store Traverse (-want +got):\n%s", s.name, c.name, c.req, i, diff)
				}
			}
			a := answer{Edges: tr.Edges()}
			if len(c.req.From) == 1 && c.req.Direction == storage.Forward && c.req.MaxDepth == genealogy.DefaultDepth && c.req.Kinds == nil {
				rs, err := g.Recall(ctx, c.req.From[0])
				if err != nil {
					t.Fatal(err)
				}
				rs.Trace = nil
				a.Recall = rs
			}
			answers[s.name] = append(answers[s.name], a)
		}
	}
	if pg, ok := answers["postgres"]; ok {
		opts := cmp.Options{
			cmpopts.IgnoreFields(genealogy.Proof{}, "Position"),
			cmpopts.EquateEmpty(),
			cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
		}
		if diff := cmp.Diff(answers["memory"], pg, opts); diff != "" {
			t.Errorf("memory vs postgres graph answers (-memory +postgres):\n%s", diff)
		}
	}
}
