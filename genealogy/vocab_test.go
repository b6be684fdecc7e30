package genealogy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/genealogy/genealogytest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

func TestSplitConservesQuantity(t *testing.T) {
	t.Parallel()
	p := func(lot, q string) genealogytest.Portion { return genealogytest.Portion{Lot: lot, Quantity: dec(q)} }
	tests := []struct {
		name     string
		quantity string
		children []genealogytest.Portion
		want     error
	}{
		{"exact", "100", []genealogytest.Portion{p("A", "60"), p("B", "40.000")}, nil},
		{"short", "100", []genealogytest.Portion{p("A", "60"), p("B", "39.999")}, genealogytest.ErrConservation},
		{"over", "100", []genealogytest.Portion{p("A", "60"), p("B", "40.001")}, genealogytest.ErrConservation},
		{"no children", "100", nil, genealogytest.ErrSpec},
		{"child is parent", "100", []genealogytest.Portion{p("P", "100")}, genealogytest.ErrSpec},
		{"repeated child", "100", []genealogytest.Portion{p("A", "50"), p("A", "50")}, genealogytest.ErrSpec},
		{"zero child", "100", []genealogytest.Portion{p("A", "100"), p("B", "0")}, genealogytest.ErrSpec},
		{"negative", "-1", []genealogytest.Portion{p("A", "-1")}, genealogytest.ErrSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := genealogytest.SplitEvent("op", "P", dec(tt.quantity), "kg", tt.children, genealogy.SourceScan)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var ce *genealogytest.ConservationError
			if errors.As(err, &ce) && (!ce.Want.Equal(dec(tt.quantity)) || ce.Lot != "P") {
				t.Errorf("conservation error carries %+v", ce)
			}
		})
	}
}

func TestBuildersReject(t *testing.T) {
	t.Parallel()
	q := dec("1")
	tests := []struct {
		name string
		err  error
	}{
		{"receipt without supplier lot", second(genealogytest.ReceiveEvent("op", genealogytest.Receipt{Lot: "L", Supplier: "S", Quantity: q, Unit: "kg", IdentitySource: genealogy.SourceScan}))},
		{"receipt with unknown source", second(genealogytest.ReceiveEvent("op", genealogytest.Receipt{Lot: "L", Supplier: "S", SupplierLot: "x", Quantity: q, Unit: "kg", IdentitySource: "guess"}))},
		{"receipt without unit", second(genealogytest.ReceiveEvent("op", genealogytest.Receipt{Lot: "L", Supplier: "S", SupplierLot: "x", Quantity: q, IdentitySource: genealogy.SourceScan}))},
		{"merge of one parent", second(genealogytest.MergeEvent("op", "M", "kg", []genealogytest.Portion{{Lot: "A", Quantity: q}}, genealogy.SourceScan))},
		{"flow of kind split", second(genealogytest.FlowEvent("op", genealogytest.Flow{Kind: genealogy.Split, Inputs: []genealogytest.Portion{{Lot: "A"}}, To: "B", IdentitySource: genealogy.SourceScan}))},
		{"flow without inputs", second(genealogytest.FlowEvent("op", genealogytest.Flow{Kind: genealogy.Consumed, To: "B", IdentitySource: genealogy.SourceScan}))},
		{"production without outputs", second(genealogytest.ProduceEvent("op", "B", "kg", "s", nil, genealogy.SourceDevice))},
		{"annotation of unknown type", second(genealogytest.AnnotationEvent("op", "lot.liked", "X", "r", "L"))},
		{"empty actor", second(genealogytest.FlowEvent("", genealogytest.Flow{Kind: genealogy.Consumed, Inputs: []genealogytest.Portion{{Lot: "A"}}, To: "B", IdentitySource: genealogy.SourceScan}))},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, genealogytest.ErrSpec) {
			t.Errorf("%s: got %v, want ErrSpec", tt.name, tt.err)
		}
	}
}

func second(_ storage.Event, err error) error { return err }

func TestMergeLinksEveryParent(t *testing.T) {
	t.Parallel()
	ev, err := genealogytest.MergeEvent("op", "M", "kg", []genealogytest.Portion{{Lot: "A", Quantity: dec("1.5")}, {Lot: "B", Quantity: dec("2")}}, genealogy.SourceScan)
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.Link{{From: "A", To: "M", Kind: "merged"}, {From: "B", To: "M", Kind: "merged"}}
	if diff := cmp.Diff(want, ev.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	p, err := genealogy.CheckPayload(ev.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 1 || p.Nodes[0].Quantity == nil || !p.Nodes[0].Quantity.Equal(dec("3.5")) {
		t.Errorf("merged lot declared as %+v, want 3.5 kg", p.Nodes)
	}
}

func TestCheckPayloadRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[1]`, `{"identity_source":"guess"}`, `{"nodes":[{"kind":"lot"}]}`,
		`{"quantities":[{"from":"a","to":"b","quantity":"x","unit":"kg"}]}`, `{"quantities":[{"from":"a","to":"b","quantity":"1"}]}`} {
		if _, err := genealogy.CheckPayload([]byte(in)); !errors.Is(err, genealogy.ErrPayload) {
			t.Errorf("%s: got %v, want ErrPayload", in, err)
		}
	}
}

// TestBuildRejectsBadPayload: a flow event whose payload the graph cannot
// read stops the build with the record named, rather than a silent gap.
func TestBuildRejectsBadPayload(t *testing.T) {
	t.Parallel()
	st := memory.New(nil)
	_, err := st.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "B1", Events: []storage.Event{{
		Type: "lot.consumed", Actor: "op", Payload: []byte(`{"identity_source":"telepathy"}`),
		Links: []audit.Link{{From: "L1", To: "B1", Kind: "consumed"}},
	}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = genealogy.Build(context.Background(), st, nil)
	var pe *genealogy.PayloadError
	if !errors.As(err, &pe) || pe.Stream != "B1" || pe.Version != 1 || !errors.Is(err, genealogy.ErrPayload) {
		t.Errorf("got %v, want a PayloadError for B1@1", err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := genealogy.New(nil, nil); err == nil {
		t.Error("New with a nil store: no error")
	}
	if _, err := genealogy.New(memory.New(nil), &genealogy.Config{PageSize: -1}); err == nil {
		t.Error("New with a negative PageSize: no error")
	}
	if _, err := genealogytest.NewPlant(genealogytest.PlantConfig{Lots: 10}); err == nil {
		t.Error("NewPlant with 10 lots: no error")
	}
	g, _ := genealogy.New(memory.New(nil), nil)
	_, err := g.Trace(context.Background(), genealogy.TraceRequest{From: []string{"A"}, Direction: storage.Forward, MaxDepth: 1, Kinds: []genealogy.Kind{genealogy.Concerns}})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("trace following concerns: got %v, want ErrInvalid", err)
	}
	_, err = g.Trace(context.Background(), genealogy.TraceRequest{From: []string{"A"}, Direction: storage.Forward})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("trace of depth 0: got %v, want ErrInvalid", err)
	}
}

// TestPlantReproducible: one seed, one plant, to the hash.
func TestPlantReproducible(t *testing.T) {
	t.Parallel()
	heads := func(seed uint64) []audit.Head {
		p, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: seed, Lots: 300})
		if err != nil {
			t.Fatal(err)
		}
		st := memory.New(&memory.Config{Clock: fixedClock()})
		if _, err := p.Append(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		h, err := st.Heads(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a, b, c := heads(3), heads(3), heads(4)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different plants (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Error("different seeds gave the same plant")
	}
}

// TestApplyKeepsGraphCurrent: records applied one by one after a build give
// the graph a fresh build gives, through the tail maps and through a
// compaction, while traces run concurrently (for -race).
func TestApplyKeepsGraphCurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New(&memory.Config{Clock: fixedClock()})
	p, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: 9, Lots: 200})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []storage.AppendRequest
	if _, err := p.Each(func(r storage.AppendRequest) error { reqs = append(reqs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	half := len(reqs) / 2
	for _, r := range reqs[:half] {
		if _, err := st.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	g, err := genealogy.Build(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := g.Forward(ctx, p.Lot(0, 1)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for _, r := range reqs[half:] {
		res, err := st.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Apply(res.Records...); err != nil {
			t.Fatal(err)
		}
		if err := g.Apply(res.Records...); err != nil { // twice: a no-op
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	fresh, err := genealogy.Build(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh.Stats(), g.Stats()); diff != "" {
		t.Errorf("stats (-fresh +applied):\n%s", diff)
	}
	opts := cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
	for _, from := range []string{p.Bulk[0], p.Lot(0, 2), p.Finished(1)} {
		for _, dir := range []storage.Direction{storage.Forward, storage.Backward} {
			req := genealogy.TraceRequest{From: []string{from}, Direction: dir, MaxDepth: genealogy.DefaultDepth}
			want, err := fresh.Trace(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.Trace(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Edges(), got.Edges(), opts); diff != "" {
				t.Errorf("%s %v (-fresh +applied):\n%s", from, dir, diff)
			}
		}
	}
}

func TestWhereUsed(t *testing.T) {
	t.Parallel()
	st := memory.New(&memory.Config{Clock: fixedClock()})
	proofPlant(t, st)
	g, err := genealogy.Build(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	lots, tr, err := g.WhereUsed(context.Background(), "Filler")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"FILLER-1"}, lots); diff != "" {
		t.Errorf("lots (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"FG-2"}, g.Finished(tr)); diff != "" {
		t.Errorf("finished (-want +got):\n%s", diff)
	}
	if lots, tr, err := g.WhereUsed(context.Background(), "Unobtainium"); lots != nil || tr != nil || err != nil {
		t.Errorf("unknown material: got %v %v %v", lots, tr, err)
	}
}

// TestWideQuantity: a quantity too wide for the graph's 8-byte form comes
// back exact.
func TestWideQuantity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New(nil)
	ev, err := genealogytest.MergeEvent("op", "M", "g", []genealogytest.Portion{
		{Lot: "A", Quantity: dec("99999999999999999999.5")}, {Lot: "B", Quantity: dec("0.000001")},
	}, genealogy.SourceScan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "M", Events: []storage.Event{ev}}}}); err != nil {
		t.Fatal(err)
	}
	g, err := genealogy.Build(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := g.Backward(ctx, "M")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tr.Edges() {
		got = append(got, e.From+" "+e.Quantity.String()+" "+e.Unit)
	}
	if diff := cmp.Diff([]string{"A 99999999999999999999.5 g", "B 0.000001 g"}, got); diff != "" {
		t.Errorf("quantities (-want +got):\n%s", diff)
	}
	info, _ := g.NodeInfo("M")
	if info.Quantity == nil || !info.Quantity.Equal(dec("99999999999999999999.500001")) {
		t.Errorf("merged lot quantity %v", info.Quantity)
	}
}

// TestUpdateDoesNotSkipABadRecord: after Update fails on a record it
// cannot read, the next Update fails on it again rather than succeed
// without its edges, and a graph built later agrees.
func TestUpdateDoesNotSkipABadRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New(nil)
	g, err := genealogy.Build(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, payload := range []string{`{"identity_source":"telepathy"}`, `{}`} {
		_, err := st.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: fmt.Sprint("B", i+1), Events: []storage.Event{{
			Type: "lot.consumed", Actor: "op", Payload: []byte(payload),
			Links: []audit.Link{{From: fmt.Sprint("L", i+1), To: fmt.Sprint("B", i+1), Kind: "consumed"}},
		}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		var pe *genealogy.PayloadError
		if err := g.Update(ctx); !errors.As(err, &pe) || pe.Stream != "B1" {
			t.Fatalf("Update: %v; want the PayloadError for B1 every time", err)
		}
	}
	if g.Position() != 0 {
		t.Errorf("the graph moved to position %d past the record it could not read", g.Position())
	}
}
