package genealogy_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/genealogy/genealogytest"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

var allCTEs = []genealogy.CTE{genealogy.CTEReceiving, genealogy.CTETransformation, genealogy.CTEShipping, genealogy.CTEFirstLandBasedReceiving}

// fsmaSheet exports the FSMA 204 sheet of cte for tr, reads it back as a
// spreadsheet would, checks its header, and returns its rows as column →
// cell, with the raw bytes for golden files.
func fsmaSheet(t *testing.T, x *genealogy.Exporter, tr *genealogy.Trace, cte genealogy.CTE) ([]map[string]string, []byte) {
	t.Helper()
	b, err := x.FSMA204(tr, cte)
	if err != nil {
		t.Fatalf("FSMA204(%s): %v", cte, err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: the sheet does not read back as CSV: %v\n%s", cte, err, b)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no header row", cte)
	}
	if diff := cmp.Diff(genealogy.FSMA204Header(cte), recs[0]); diff != "" {
		t.Fatalf("%s header (-want +got):\n%s", cte, diff)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		rows = append(rows, m)
	}
	return rows, b
}

// fsmaRow is want filled out to every column of cte's header, the columns
// it does not name empty, so that a comparison checks every cell.
func fsmaRow(t *testing.T, cte genealogy.CTE, want map[string]string) map[string]string {
	t.Helper()
	h := genealogy.FSMA204Header(cte)
	full := map[string]string{}
	for _, c := range h {
		full[c] = want[c]
	}
	for c := range want {
		if !slices.Contains(h, c) {
			t.Fatalf("%s has no column %q", cte, c)
		}
	}
	return full
}

// fsmaGolden compares a sheet with its golden file. Under -update the
// Postgres run leaves the file to the memory run, so that the stores'
// parallel runs do not read a half-written file; both compare.
func fsmaGolden(t *testing.T, name string, b []byte) {
	t.Helper()
	if *update && strings.HasSuffix(t.Name(), "/postgres") {
		return
	}
	golden(t, name, b)
}

// foodPlantExport builds the food plant of plant_engine_test.go on s, runs
// more requests, and returns its graph and an exporter.
func foodPlantExport(t *testing.T, s storage.Store, clock *mestest.Clock, more func(p *foodPlant)) (*genealogy.Graph, *genealogy.Exporter) {
	t.Helper()
	p := newFoodPlant(t, s, clock)
	if more != nil {
		more(p)
	}
	g := mestest.Must[*genealogy.Graph](t)(genealogy.Build(context.Background(), s, nil))
	x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, nil))
	return g, x
}

// The plant's events all happen at mestest.Now.
const (
	plantDay  = "2026-11-25"
	plantTime = "09:00:00"
)

// TestFSMA204Receiving: the romaine the plant received is one receiving row
// (§1.1345(a)) with the supplier's lot as its traceability lot code, the
// plant's own lot number beside it, the quantity, description, supplier,
// the cold room it was received into, the supplier's site as the lot code
// source, and the purchase order and bill of lading.
func TestFSMA204Receiving(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		g, x := foodPlantExport(t, s, clock, nil)
		tr := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, "shipment/SH-1"))
		rows, b := fsmaSheet(t, x, tr, genealogy.CTEReceiving)
		want := []map[string]string{fsmaRow(t, genealogy.CTEReceiving, map[string]string{
			"Event ID":                    "lot/ROM-1@1",
			"Traceability Lot Code (TLC)": "GF-0425",
			"Internal Lot Number":         "ROM-1",
			"Quantity":                    "400",
			"Unit of Measure":             "kg",
			"Product Description":         "Romaine lettuce, whole heads, 24 count",
			"GTIN":                        romaineGTIN,
			"Immediate Previous Source Location Description": "Green Farms",
			"Receiving GLN":             plantGLN,
			"Receiving GLN Extension":   "COLD-1",
			"Date Received":             plantDay,
			"Time Received (UTC)":       plantTime,
			"TLC Source GLN":            supplierGLN,
			"Reference Document Type":   "Purchase Order; Bill of Lading",
			"Reference Document Number": "PO-778; BOL-5512",
		})}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("receiving rows (-want +got):\n%s", diff)
		}
		fsmaGolden(t, "fsma204_receiving.csv", b)

		// A forward trace from the received lot reports the same receipt.
		fwd := mestest.Must[*genealogy.Trace](t)(g.Forward(ctx, event.LotStream("ROM-1")))
		if again, _ := fsmaSheet(t, x, fwd, genealogy.CTEReceiving); !cmp.Equal(want, again) {
			t.Errorf("forward trace's receiving rows = %v; want those of the backward trace", again)
		}
	})
}

// TestFSMA204Transformation: chopping romaine into salad on line 2 is one
// transformation row (§1.1350(a)): the romaine's lot code, description and
// the 120 kg used, the salad's new lot code, description and 200 made,
// line 2 as where it was transformed (the new lot's source), and the work
// order.
func TestFSMA204Transformation(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		g, x := foodPlantExport(t, s, clock, nil)
		tr := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, "shipment/SH-1"))
		rows, b := fsmaSheet(t, x, tr, genealogy.CTETransformation)
		want := []map[string]string{fsmaRow(t, genealogy.CTETransformation, map[string]string{
			"Event ID":                            "batch/SALAD-1@1",
			"Input Traceability Lot Code (TLC)":   "GF-0425",
			"Input Internal Lot Number":           "ROM-1",
			"Input Product Description":           "Romaine lettuce, whole heads, 24 count",
			"Input GTIN":                          romaineGTIN,
			"Input Quantity Used":                 "120",
			"Input Unit of Measure":               "kg",
			"New Traceability Lot Code (TLC)":     "SAL-1",
			"New Internal Lot Number":             "SAL-1",
			"New Product Description":             "SALAD-300",
			"New GTIN":                            saladGTIN,
			"New Quantity":                        "200",
			"New Unit of Measure":                 "ea",
			"Transformation GLN":                  plantGLN,
			"Transformation GLN Extension":        "LINE-2",
			"Date Transformation Completed":       plantDay,
			"Time Transformation Completed (UTC)": plantTime,
			"Reference Document Type":             "Production Order",
			"Reference Document Number":           "WO-91",
		})}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("transformation rows (-want +got):\n%s", diff)
		}
		fsmaGolden(t, "fsma204_transformation.csv", b)
	})
}

// TestFSMA204TransformationEvents: on the proof plant, whose batches
// consume and produce in separate events, a batch's row lists every lot
// consumed into it, those the trace did not reach too; a split is one
// transformation per child, from the parent; the rows sort by date, then
// new lot code.
func TestFSMA204TransformationEvents(t *testing.T) {
	t.Parallel()
	g, _ := proofExporter(t)
	x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, nil))
	tr := mestest.Must[*genealogy.Trace](t)(g.Forward(context.Background(), supplierLot))
	rows, b := fsmaSheet(t, x, tr, genealogy.CTETransformation)
	type io struct{ In, Used, New, Made string }
	var got []io
	for _, r := range rows {
		got = append(got, io{r["Input Traceability Lot Code (TLC)"], r["Input Quantity Used"] + " " + r["Input Unit of Measure"],
			r["New Traceability Lot Code (TLC)"], r["New Quantity"] + " " + r["New Unit of Measure"]})
	}
	want := []io{
		{"INT-1A", "20 kg", "FG-1", "19.5 kg"},
		{"INT-1B", "10 kg", "FG-2", "59 kg"},
		{"MAG-3", "50 kg", "FG-2", "59 kg"},
		{"ACME-4711", "25 kg", "INT-1", "30 kg"},
		{"PL-88", "5 kg", "INT-1", "30 kg"},
		{"INT-1", "20 kg", "INT-1A", "20 kg"},
		{"INT-1", "10 kg", "INT-1B", "10 kg"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transformations (-want +got):\n%s", diff)
	}
	// A split's children are the parent's product.
	if got := rows[5]["New Product Description"]; got != "Granulate" {
		t.Errorf("INT-1A's description = %q; want its parent's, Granulate", got)
	}
	// The two rows of a batch are one event.
	if rows[3]["Event ID"] != rows[4]["Event ID"] || rows[3]["Event ID"] == rows[2]["Event ID"] {
		t.Errorf("event ids %q, %q, %q: want the two rows of INT-1 tied together, apart from FG-2's",
			rows[2]["Event ID"], rows[3]["Event ID"], rows[4]["Event ID"])
	}
	fsmaGolden(t, "fsma204_transformation_events.csv", b)
}

// TestFSMA204Shipping: the pallet shipped whole is a shipping row
// (§1.1340(a)) per lot packed on it: the salad's lot code, 200 each, the
// pallet's SSCC, the customer and its place, dock 2 as where it was
// shipped from, line 2 as the lot code source of a lot made here, and the
// despatch advice and bill of lading.
func TestFSMA204Shipping(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		g, x := foodPlantExport(t, s, clock, nil)
		tr := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, "shipment/SH-1"))
		rows, b := fsmaSheet(t, x, tr, genealogy.CTEShipping)
		want := []map[string]string{fsmaRow(t, genealogy.CTEShipping, map[string]string{
			"Event ID":                           "shipment/SH-1@1",
			"Traceability Lot Code (TLC)":        "SAL-1",
			"Internal Lot Number":                "SAL-1",
			"Quantity":                           "200",
			"Unit of Measure":                    "ea",
			"Product Description":                "SALAD-300",
			"GTIN":                               saladGTIN,
			"Container":                          palletSSCC,
			"Immediate Subsequent Recipient":     "FreshMart",
			"Immediate Subsequent Recipient GLN": customerGLN,
			"Shipped From GLN":                   plantGLN,
			"Shipped From GLN Extension":         "DOCK-2",
			"Date Shipped":                       plantDay,
			"Time Shipped (UTC)":                 plantTime,
			"TLC Source GLN":                     plantGLN,
			"TLC Source GLN Extension":           "LINE-2",
			"Reference Document Type":            "Advance Ship Notice; Bill of Lading",
			"Reference Document Number":          "ASN-1; BOL-9",
		})}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("shipping rows (-want +got):\n%s", diff)
		}
		fsmaGolden(t, "fsma204_shipping.csv", b)

		// From the received lot forward, the same shipment.
		fwd := mestest.Must[*genealogy.Trace](t)(g.Forward(ctx, event.LotStream("ROM-1")))
		if _, again := fsmaSheet(t, x, fwd, genealogy.CTEShipping); !bytes.Equal(b, again) {
			t.Errorf("forward trace's shipping sheet:\n%s\nwant that of the backward trace:\n%s", again, b)
		}
		// Nothing was shipped before the pallet left.
		back := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, event.LotStream("SAL-1")))
		if rows, _ := fsmaSheet(t, x, back, genealogy.CTEShipping); len(rows) != 0 {
			t.Errorf("a trace without the shipment has shipping rows %v", rows)
		}
	})
}

// TestFSMA204FirstLandBasedReceiving: cod landed at the plant's pier is a
// first land-based receiving row (§1.1335) with its harvest dates, area,
// vessel, the pier as receiver and lot code source, the date landed, and
// the receiving advice; it is not a plain receiving, and the romaine is
// not a landing.
func TestFSMA204FirstLandBasedReceiving(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	pier := &event.Place{ID: "PIER-4", Description: "Harbor Fish Co., Pier 4, 1 Fish Pier Rd, Gloucester, MA"}
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		g, x := foodPlantExport(t, s, clock, func(p *foodPlant) {
			p.run(t, mes.Request{ID: "land-cod", Model: p.lot, Subject: event.LotStream("COD-1"), Command: mes.CmdReceive, Actor: "rx-1",
				Data: json.RawMessage(`{"material":"FISH-COD","quantity":"300","unit":"kg"}`),
				Declare: &mes.Declaration{Kind: "lot", Material: "FISH-COD", Supplier: "F/V Northern Star",
					Description: "Atlantic cod (Gadus morhua), whole, gutted",
					Landing: &event.Landing{HarvestStart: day(20, 6), HarvestEnd: day(23, 18), HarvestArea: "NMFS statistical area 514",
						Vessel: "F/V Northern Star", Landed: day(25, 3)},
					IdentitySource: gate.SourceManual},
				Location:   &event.Location{BizLocation: pier},
				References: []event.Reference{{Type: "recadv", Number: "RA-33"}}})
		})
		tr := mestest.Must[*genealogy.Trace](t)(g.Trace(ctx, genealogy.TraceRequest{
			From: []string{event.LotStream("COD-1"), event.LotStream("ROM-1")}, Direction: storage.Forward, MaxDepth: 1}))
		rows, b := fsmaSheet(t, x, tr, genealogy.CTEFirstLandBasedReceiving)
		want := []map[string]string{fsmaRow(t, genealogy.CTEFirstLandBasedReceiving, map[string]string{
			"Event ID":                    "lot/COD-1@1",
			"Traceability Lot Code (TLC)": "COD-1",
			"Product Description":         "Atlantic cod (Gadus morhua), whole, gutted",
			"Quantity":                    "300",
			"Unit of Measure":             "kg",
			"Harvest Start Date":          "2026-11-20",
			"Harvest End Date":            "2026-11-23",
			"Harvest Location":            "NMFS statistical area 514",
			"Vessel":                      "F/V Northern Star",
			"First Land-Based Receiver Location Description": pier.Description,
			"First Land-Based Receiver Location ID":          "PIER-4",
			"Date Landed":                                    "2026-11-25",
			"Time Landed (UTC)":                              "03:00:00",
			"TLC Source Location Description":                pier.Description,
			"TLC Source Location ID":                         "PIER-4",
			"Reference Document Type":                        "Receiving Advice",
			"Reference Document Number":                      "RA-33",
		})}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("first land-based receiving rows (-want +got):\n%s", diff)
		}
		fsmaGolden(t, "fsma204_first_land_based_receiving.csv", b)

		rec, _ := fsmaSheet(t, x, tr, genealogy.CTEReceiving)
		var lots []string
		for _, r := range rec {
			lots = append(lots, r["Internal Lot Number"])
		}
		if !slices.Equal(lots, []string{"ROM-1"}) {
			t.Errorf("receiving rows are of lots %v; want only the romaine, the cod being a landing", lots)
		}
	})
}

// TestFSMA204Defused: lot codes and descriptions from scans and manual
// entry reach a spreadsheet as text, never as formulas; a negative number
// stays a number.
func TestFSMA204Defused(t *testing.T) {
	t.Parallel()
	s := memory.New(&memory.Config{Clock: fixedClock()})
	ev, err := genealogytest.ReceiveEvent("receiving", genealogytest.Receipt{
		Lot: `=HYPERLINK("https://evil.example/","open")`, Material: "-42", Supplier: "@SUM(A1:A9)", SupplierLot: "+cmd|' /C calc'!A0",
		Quantity: dec("10"), Unit: "kg", IdentitySource: genealogy.SourceManual,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "lot/EVIL", Events: []storage.Event{ev}}}}); err != nil {
		t.Fatal(err)
	}
	g := mestest.Must[*genealogy.Graph](t)(genealogy.Build(context.Background(), s, nil))
	x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, nil))
	tr := mestest.Must[*genealogy.Trace](t)(g.Forward(context.Background(), `=HYPERLINK("https://evil.example/","open")`))
	rows, _ := fsmaSheet(t, x, tr, genealogy.CTEReceiving)
	if len(rows) != 1 {
		t.Fatalf("rows %v; want the one receipt", rows)
	}
	for col, want := range map[string]string{
		"Traceability Lot Code (TLC)":                    `'+cmd|' /C calc'!A0`,
		"Internal Lot Number":                            `'=HYPERLINK("https://evil.example/","open")`,
		"Immediate Previous Source Location Description": "'@SUM(A1:A9)",
		"Product Description":                            "-42",
	} {
		if got := rows[0][col]; got != want {
			t.Errorf("%s = %q; want %q", col, got, want)
		}
	}
}

// TestFSMA204Invalid: a CTE that is not one of the constants, no trace, or
// a trace of another graph is bad input; each CTE has its own header, and a caller cannot change it.
func TestFSMA204Invalid(t *testing.T) {
	t.Parallel()
	g, x := proofExporter(t)
	tr := mestest.Must[*genealogy.Trace](t)(g.Forward(context.Background(), supplierLot))
	other, _ := proofExporter(t)
	foreign := mestest.Must[*genealogy.Trace](t)(other.Forward(context.Background(), supplierLot))
	for _, c := range []struct {
		tr  *genealogy.Trace
		cte genealogy.CTE
	}{{tr, "growing"}, {tr, ""}, {nil, genealogy.CTEReceiving}, {foreign, genealogy.CTETransformation}} {
		if b, err := x.FSMA204(c.tr, c.cte); !errors.Is(err, interlock.ErrInvalid) || b != nil {
			t.Errorf("FSMA204(%v, %q) = %q, %v; want an error matching interlock.ErrInvalid", c.tr != nil, c.cte, b, err)
		}
	}
	if h := genealogy.FSMA204Header("growing"); h != nil {
		t.Errorf("header of an unknown CTE = %q; want nil", h)
	}
	seen := map[string]genealogy.CTE{}
	for _, cte := range allCTEs {
		h := genealogy.FSMA204Header(cte)
		if len(h) == 0 || !slices.Contains(h, "Reference Document Type") || !slices.Contains(h, "Reference Document Number") {
			t.Errorf("%s header %q lacks the reference document columns", cte, h)
		}
		key := strings.Join(h, ",")
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s have the same header", cte, other)
		}
		seen[key] = cte
		h[0] = "changed"
		if genealogy.FSMA204Header(cte)[0] == "changed" {
			t.Errorf("%s: changing a returned header changed the exporter's", cte)
		}
	}
}

// TestFSMA204ShippingContainers: a shipment of a lot on its own and of a
// pallet holding a lot and a case of another lists each lot once with the
// quantity that left: the lot's own, or what was packed, through the case;
// what was packed after the pallet left is not in the shipment.
func TestFSMA204ShippingContainers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memory.New(&memory.Config{Clock: fixedClock()})
	versions := map[string]int64{}
	write := func(stream string, ev storage.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: versions[stream], Events: []storage.Event{ev}}}}); err != nil {
			t.Fatal(err)
		}
		versions[stream]++
	}
	for _, l := range []string{"L1", "L2", "L3"} {
		ev, err := genealogytest.ReceiveEvent("receiving", genealogytest.Receipt{Lot: l, Material: "Kale", Supplier: "Leafy Co",
			SupplierLot: "LC-" + l, Quantity: dec("50"), Unit: "kg", IdentitySource: genealogy.SourceScan})
		write(l, ev, err)
	}
	pack := func(into string, inputs ...genealogytest.Portion) {
		t.Helper()
		ev, err := genealogytest.FlowEvent("packing", genealogytest.Flow{Kind: genealogy.Packed, Inputs: inputs, Unit: "kg",
			To: into, ToKind: genealogy.NodeContainer, IdentitySource: genealogy.SourceScan})
		write(into, ev, err)
	}
	pack("CASE-1", genealogytest.Portion{Lot: "L1", Quantity: dec("20")})
	pack("PAL-1", genealogytest.Portion{Lot: "CASE-1"}, genealogytest.Portion{Lot: "L2", Quantity: dec("10")})
	ev, err := genealogytest.FlowEvent("shipping", genealogytest.Flow{Kind: genealogy.Shipped, Unit: "kg",
		Inputs: []genealogytest.Portion{{Lot: "PAL-1"}, {Lot: "L3", Quantity: dec("5")}},
		To:     "SHP-9", ToKind: genealogy.NodeShipment, Customer: "Corner Market", IdentitySource: genealogy.SourceScan})
	write("SHP-9", ev, err)
	pack("CASE-1", genealogytest.Portion{Lot: "L1", Quantity: dec("7")})

	g := mestest.Must[*genealogy.Graph](t)(genealogy.Build(ctx, s, nil))
	x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, nil))
	tr := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, "SHP-9"))
	rows, _ := fsmaSheet(t, x, tr, genealogy.CTEShipping)
	type shipped struct{ TLC, Lot, Qty, Container, Recipient, Event string }
	var got []shipped
	for _, r := range rows {
		got = append(got, shipped{r["Traceability Lot Code (TLC)"], r["Internal Lot Number"], r["Quantity"] + " " + r["Unit of Measure"],
			r["Container"], r["Immediate Subsequent Recipient"], r["Event ID"]})
	}
	want := []shipped{
		{"LC-L1", "L1", "20 kg", "PAL-1", "Corner Market", "SHP-9@1"},
		{"LC-L2", "L2", "10 kg", "PAL-1", "Corner Market", "SHP-9@1"},
		{"LC-L3", "L3", "5 kg", "", "Corner Market", "SHP-9@1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shipped lots (-want +got):\n%s", diff)
	}
}
