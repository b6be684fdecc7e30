package genealogy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// roundTripPlant is the food plant with a split and a merge on top: the
// rest of ROM-1 split into two lots, one of them merged with a second
// lettuce lot.
func roundTripPlant(t *testing.T, s storage.Store, clock *mestest.Clock) *genealogy.Graph {
	t.Helper()
	p := newFoodPlant(t, s, clock)
	d := func(v string) decimal.Decimal { return mestest.Decimal(t, v) }
	p.run(t,
		mes.Request{ID: "receive-2", Model: p.lot, Subject: event.LotStream("ROM-2"), Command: mes.CmdReceive, Actor: "rx-1",
			Data: json.RawMessage(`{"material":"LET-ROM","quantity":"80","unit":"kg"}`)},
		mes.Request{ID: "release-2", Model: p.lot, Subject: event.LotStream("ROM-2"), Command: mes.CmdRelease, Actor: "qa-3"},
		mes.Request{ID: "split", Model: p.lot, Subject: event.LotStream("ROM-1"), Command: mes.CmdSplit, Actor: "op-7",
			Produce: []mes.Production{{Lot: "ROM-1A", Material: "LET-ROM", Quantity: d("100"), Unit: "kg", Kind: event.LinkSplit},
				{Lot: "ROM-1B", Material: "LET-ROM", Quantity: d("50"), Unit: "kg", Kind: event.LinkSplit}}},
		mes.Request{ID: "release-1a", Model: p.lot, Subject: event.LotStream("ROM-1A"), Command: mes.CmdRelease, Actor: "qa-3"},
		mes.Request{ID: "merge", Model: p.lot, Subject: event.LotStream("MIX-1"), Command: mes.CmdMerge, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "ROM-1A", Quantity: d("100"), Unit: "kg", Kind: event.LinkMerged},
				{Lot: "ROM-2", Quantity: d("80"), Unit: "kg", Kind: event.LinkMerged}}},
	)
	return mestest.Must[*genealogy.Graph](t)(genealogy.Build(context.Background(), s, nil))
}

// linkOf is an edge as a read-back link has it.
func linkOf(e genealogy.Edge) genealogy.EPCISLink {
	l := genealogy.EPCISLink{From: e.From, To: e.To, Kind: e.Kind, Time: e.Proof.Time.Truncate(time.Millisecond)}
	if e.Unit != "" {
		q := e.Quantity
		l.Quantity, l.Unit = &q, e.Unit
	}
	return l
}

var linkOpts = cmp.Options{
	cmp.Comparer(func(a, b *decimal.Decimal) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }),
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".EventID" }, cmp.Ignore()),
}

// TestEPCISRoundTrip: an EPCIS document of a plant built through the
// engine reads back as the same graph: every link with its kind, ends and
// quantity (splits and merges included, through this site's steps), and
// every receipt with its quantity. A changed event, a foreign identifier
// and a document that is not one are refused.
func TestEPCISRoundTrip(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		g := roundTripPlant(t, s, clock)
		x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, &genealogy.ExportConfig{
			Clock: func() time.Time { return mestest.Now }, IDBase: "https://id.example.com/"}))
		doc := mestest.Must[[]byte](t)(x.EPCISRange(time.Time{}, mestest.Now.Add(time.Hour)))
		back, err := x.ReadEPCIS(doc)
		if err != nil {
			t.Fatal(err)
		}
		// Every link of the graph: forward from both received lots.
		var want []genealogy.EPCISLink
		for _, lot := range []string{"ROM-1", "ROM-2"} {
			for _, e := range mestest.Must[*genealogy.Trace](t)(g.Forward(ctx, event.LotStream(lot))).Edges() {
				if l := linkOf(e); !slices.ContainsFunc(want, func(w genealogy.EPCISLink) bool { return w.From == l.From && w.To == l.To && w.Kind == l.Kind }) {
					want = append(want, l)
				}
			}
		}
		genealogy.SortLinks(want)
		genealogy.SortLinks(back.Links)
		if len(want) != 8 {
			t.Fatalf("the plant has %d links; want 8: consumed, produced, packed, shipped, two splits, two merges", len(want))
		}
		if diff := cmp.Diff(want, back.Links, linkOpts); diff != "" {
			t.Errorf("links read back (-graph +document):\n%s", diff)
		}
		var receipts []string
		for _, r := range back.Receipts {
			receipts = append(receipts, r.Lot+" "+r.Quantity.String()+" "+r.Unit)
		}
		slices.Sort(receipts)
		if diff := cmp.Diff([]string{"lot/ROM-1 400 kg", "lot/ROM-2 80 kg"}, receipts); diff != "" {
			t.Errorf("receipts read back (-want +got):\n%s", diff)
		}
		// A changed quantity no longer matches its event's hash.
		changed := bytes.Replace(doc, []byte(`"quantity": 120`), []byte(`"quantity": 12`), 1)
		if bytes.Equal(changed, doc) {
			t.Fatal("the document has no quantity 120 to change")
		}
		if _, err := x.ReadEPCIS(changed); !errors.Is(err, genealogy.ErrEPCIS) || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("a changed event: %v; want ErrEPCIS", err)
		}
		other := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, &genealogy.ExportConfig{IDBase: "https://other.example.org/"}))
		if _, err := other.ReadEPCIS(doc); !errors.Is(err, genealogy.ErrEPCIS) {
			t.Errorf("read under another IDBase: %v; want ErrEPCIS", err)
		}
		for _, bad := range []string{``, `{}`, `[]`, `{"type":"EPCISDocument","epcisBody":{"eventList":[{"type":"ObjectEvent"}]}}`} {
			if _, err := x.ReadEPCIS([]byte(bad)); !errors.Is(err, genealogy.ErrEPCIS) {
				t.Errorf("%q: %v; want ErrEPCIS", bad, err)
			}
		}
	})
}

// FuzzReadEPCIS: reading any document never panics, and a document that
// reads, reads the same again.
func FuzzReadEPCIS(f *testing.F) {
	g := mestest.Must[*genealogy.Graph](f)(genealogy.New(memory.New(nil), nil))
	x := mestest.Must[*genealogy.Exporter](f)(genealogy.NewExporter(g, &genealogy.ExportConfig{IDBase: "https://id.example.com/"}))
	for _, name := range []string{"trace_forward.jsonld"} {
		f.Add(mestest.Must[[]byte](f)(os.ReadFile(filepath.Join("testdata", name))))
	}
	f.Add([]byte(`{"type":"EPCISDocument","epcisBody":{"eventList":[]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := x.ReadEPCIS(doc)
		if err != nil {
			if !errors.Is(err, genealogy.ErrEPCIS) {
				t.Fatalf("error %v does not match ErrEPCIS", err)
			}
			return
		}
		b, err := x.ReadEPCIS(doc)
		if err != nil || !cmp.Equal(a, b, linkOpts) {
			t.Fatalf("a second read differs: %v", err)
		}
	})
}
