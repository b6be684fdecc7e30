package genealogy_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/genealogy/genealogytest"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestSplitAndMergeInherit: a split child keeps its parent's material and
// GTIN, so it exports under the parent's Digital Link with its own lot
// number; a lot merged from parents of one material has that material, so
// WhereUsed finds it; a lot merged from two materials has none.
func TestSplitAndMergeInherit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memory.New(nil)
	kg := func(v string) decimal.Decimal { return decimal.RequireFromString(v) }
	add := func(ev storage.Event, err error, stream string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		head, _ := s.Load(ctx, stream, 1)
		if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(len(head)),
			Events: []storage.Event{ev}}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []genealogytest.Receipt{
		{Lot: "lot/P1", Material: "API", GTIN: "04006381333931", Supplier: "Acme", SupplierLot: "A-1", Quantity: kg("10"), Unit: "kg", IdentitySource: genealogy.SourceScan},
		{Lot: "lot/P2", Material: "API", Supplier: "Acme", SupplierLot: "A-1", Quantity: kg("5"), Unit: "kg", IdentitySource: genealogy.SourceScan},
		{Lot: "lot/X1", Material: "EXC", Supplier: "Acme", SupplierLot: "A-1", Quantity: kg("5"), Unit: "kg", IdentitySource: genealogy.SourceScan},
	} {
		ev, err := genealogytest.ReceiveEvent("receiving", r)
		add(ev, err, r.Lot)
	}
	ev, err := genealogytest.SplitEvent("op", "lot/P1", kg("4"), "kg",
		[]genealogytest.Portion{{Lot: "lot/C1", Quantity: kg("3")}, {Lot: "lot/C2", Quantity: kg("1")}}, genealogy.SourceScan)
	add(ev, err, "lot/P1")
	ev, err = genealogytest.MergeEvent("op", "lot/M1", "kg",
		[]genealogytest.Portion{{Lot: "lot/C2", Quantity: kg("1")}, {Lot: "lot/P2", Quantity: kg("5")}}, genealogy.SourceScan)
	add(ev, err, "lot/M1")
	ev, err = genealogytest.MergeEvent("op", "lot/M2", "kg",
		[]genealogytest.Portion{{Lot: "lot/C1", Quantity: kg("3")}, {Lot: "lot/X1", Quantity: kg("5")}}, genealogy.SourceScan)
	add(ev, err, "lot/M2")
	g := mestest.Must[*genealogy.Graph](t)(genealogy.Build(ctx, s, nil))
	for _, c := range []struct{ lot, material, gtin string }{
		{"lot/C1", "API", "04006381333931"}, {"lot/C2", "API", "04006381333931"},
		{"lot/M1", "API", ""}, // P2 has no GTIN: the parents share no GTIN
		{"lot/M2", "", ""},    // API and EXC: no one material
	} {
		info, ok := g.NodeInfo(c.lot)
		if !ok || info.Material != c.material || info.GTIN != c.gtin {
			t.Errorf("%s: material %q, GTIN %q; want %q, %q", c.lot, info.Material, info.GTIN, c.material, c.gtin)
		}
	}
	x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, nil))
	tr := mestest.Must[*genealogy.Trace](t)(g.Forward(ctx, "lot/P1"))
	doc := string(mestest.Must[[]byte](t)(x.EPCIS(tr)))
	for _, want := range []string{"https://id.gs1.org/01/04006381333931/10/C1", "https://id.gs1.org/01/04006381333931/10/C2"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the split child is not exported as %s", want)
		}
	}
	if used, _, err := g.WhereUsed(ctx, "API"); err != nil || !slices.Contains(used, "lot/M1") || slices.Contains(used, "lot/M2") {
		t.Errorf("WhereUsed(API) = %v; want lot/M1 and not lot/M2", used)
	}
}
