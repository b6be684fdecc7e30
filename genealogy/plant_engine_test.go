package genealogy_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// The GS1 keys of the food plant below, their check digits right.
const (
	plantGLN    = "0614141000005"
	supplierGLN = "4001234000008"
	customerGLN = "4001234000015"
	palletSSCC  = "006141410000000012"
	saladGTIN   = "00614141000012"
	romaineGTIN = "04012345000016"
)

// foodPlant is a small food plant built only through engine commands, as
// people and stations would give them: romaine received from a supplier at
// dock 1 into the cold room, chopped into salad on line 2, the salad
// packed on a pallet and the pallet shipped to a customer from dock 2.
type foodPlant struct {
	env                               *mestest.Env
	lot, batch, pallet, shipmentModel *mes.Model
}

func place(gln, ext string) *event.Place { return &event.Place{GLN: gln, Extension: ext} }

func newFoodPlant(t *testing.T, s storage.Store, clock *mestest.Clock) *foodPlant {
	t.Helper()
	build := func(b *mes.Builder) *mes.Model { return mestest.Must[*mes.Model](t)(b.Build()) }
	p := &foodPlant{
		env: mestest.NewOn(t, s, clock, nil),
		lot: mestest.Must[*mes.Model](t)(mes.LotModel()),
		batch: build(mes.NewModel("salad-batch", 1).Of("batch").States("planned", "made").Initial("planned").Final("made").
			Permit("planned", "make", "made", mes.Recording("batch.made"))),
		pallet: build(mes.NewModel("pallet", 1).Of("container").States("empty", "packed").Initial("empty").Final("packed").
			Permit("empty", "pack", "packed", mes.Recording("pallet.packed"))),
		shipmentModel: build(mes.NewModel("shipment", 1).Of("shipment").States("open", "shipped").Initial("open").Final("shipped").
			Permit("open", "ship", "shipped", mes.Recording("shipment.shipped"))),
	}
	kg := func(s string) json.RawMessage { return json.RawMessage(s) }
	p.run(t,
		mes.Request{ID: "receive", Model: p.lot, Subject: event.LotStream("ROM-1"), Command: mes.CmdReceive, Actor: "rx-1",
			Data: kg(`{"material":"LET-ROM","quantity":"400","unit":"kg"}`),
			Declare: &mes.Declaration{Kind: "lot", Material: "LET-ROM", GTIN: romaineGTIN, Supplier: "Green Farms", SupplierLot: "GF-0425",
				Description: "Romaine lettuce, whole heads, 24 count", LotSource: place(supplierGLN, ""), IdentitySource: gate.SourceScanner},
			Location:   &event.Location{ReadPoint: place(plantGLN, "DOCK-1"), BizLocation: place(plantGLN, "COLD-1")},
			References: []event.Reference{{Type: "po", Number: "PO-778"}, {Type: "bol", Number: "BOL-5512"}}},
		mes.Request{ID: "release-rom", Model: p.lot, Subject: event.LotStream("ROM-1"), Command: mes.CmdRelease, Actor: "qa-3"},
		mes.Request{ID: "make", Model: p.batch, Subject: "batch/SALAD-1", Command: "make", Actor: "op-7",
			Consume:    []event.Consumption{{Lot: "ROM-1", Quantity: mestest.Decimal(t, "120"), Unit: "kg"}},
			Produce:    []mes.Production{{Lot: "SAL-1", Material: "SALAD-300", GTIN: saladGTIN, Quantity: mestest.Decimal(t, "200"), Unit: "ea"}},
			Location:   &event.Location{ReadPoint: place(plantGLN, "LINE-2"), BizLocation: place(plantGLN, "PACK")},
			References: []event.Reference{{Type: "prodorder", Number: "WO-91"}}},
		mes.Request{ID: "release-sal", Model: p.lot, Subject: event.LotStream("SAL-1"), Command: mes.CmdRelease, Actor: "qa-3"},
		mes.Request{ID: "pack", Model: p.pallet, Subject: event.ContainerStream(palletSSCC), Command: "pack", Actor: "op-7",
			Consume:  []event.Consumption{{Lot: "SAL-1", Quantity: mestest.Decimal(t, "200"), Unit: "ea", Kind: event.LinkPacked}},
			Location: &event.Location{ReadPoint: place(plantGLN, "PACK")}},
		mes.Request{ID: "ship", Model: p.shipmentModel, Subject: "shipment/SH-1", Command: "ship", Actor: "op-7",
			Declare:    &mes.Declaration{Kind: "shipment", Customer: "FreshMart", Destination: place(customerGLN, ""), IdentitySource: gate.SourceScanner},
			Consume:    []event.Consumption{{Container: palletSSCC, Kind: event.LinkShipped}},
			Location:   &event.Location{ReadPoint: place(plantGLN, "DOCK-2")},
			References: []event.Reference{{Type: "desadv", Number: "ASN-1"}, {Type: "bol", Number: "BOL-9"}}},
	)
	return p
}

func (p *foodPlant) run(t *testing.T, reqs ...mes.Request) {
	t.Helper()
	for _, r := range reqs {
		if _, err := p.env.Engine.Execute(context.Background(), r); err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
	}
}

// epcisEvent is what the test reads of an exported event.
type epcisEvent struct {
	Type        string `json:"type"`
	BizStep     string `json:"bizStep"`
	ParentID    string `json:"parentID"`
	EPCList     []string
	ReadPoint   *struct{ ID string } `json:"readPoint"`
	BizLocation *struct{ ID string } `json:"bizLocation"`
	BizTx       []struct {
		Type string `json:"type"`
		ID   string `json:"bizTransaction"`
	} `json:"bizTransactionList"`
	Sources []struct {
		Type   string `json:"type"`
		Source string `json:"source"`
	} `json:"sourceList"`
	Destinations []struct {
		Type        string `json:"type"`
		Destination string `json:"destination"`
	} `json:"destinationList"`
	Quantities []qe `json:"quantityList"`
	Inputs     []qe `json:"inputQuantityList"`
	Outputs    []qe `json:"outputQuantityList"`
	Children   []qe `json:"childQuantityList"`
}

type qe struct {
	Class    string      `json:"epcClass"`
	Quantity json.Number `json:"quantity"`
	UOM      string      `json:"uom"`
}

// TestEngineBuiltPlantInEPCIS: a plant built only through engine commands
// exports, in an EPCIS document that the official schema accepts, the lot
// codes, quantities, locations, parties and documents people entered: each
// event's read point and business location as GS1 SGLN Digital Links, the
// supplier's and customer's places, the purchase order, bill of lading and
// production order, and a pallet shipped whole through the engine.
func TestEngineBuiltPlantInEPCIS(t *testing.T) {
	t.Parallel()
	sch := epcisSchema(t, true)
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		newFoodPlant(t, s, clock)
		g := mestest.Must[*genealogy.Graph](t)(genealogy.Build(ctx, s, nil))
		tr := mestest.Must[*genealogy.Trace](t)(g.Backward(ctx, "shipment/SH-1"))
		x := mestest.Must[*genealogy.Exporter](t)(genealogy.NewExporter(g, &genealogy.ExportConfig{
			Clock: func() time.Time { return mestest.Now }, IDBase: "https://id.example.com/"}))
		doc := mestest.Must[[]byte](t)(x.EPCIS(tr))
		if err := validate(t, sch, doc); err != nil {
			t.Fatalf("the plant's EPCIS document fails the official schema: %v\n%s", err, doc)
		}
		var d struct {
			Body struct {
				Events []epcisEvent `json:"eventList"`
			} `json:"epcisBody"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		byStep := map[string]epcisEvent{}
		for _, e := range d.Body.Events {
			byStep[e.Type+"/"+e.BizStep] = e
		}
		sgln := func(gln, ext string) string {
			if ext == "" {
				return "https://id.gs1.org/414/" + gln
			}
			return "https://id.gs1.org/414/" + gln + "/254/" + ext
		}
		salad := "https://id.gs1.org/01/" + saladGTIN + "/10/SAL-1"
		type where struct{ ReadPoint, BizLocation string }
		at := func(e epcisEvent) where {
			var w where
			if e.ReadPoint != nil {
				w.ReadPoint = e.ReadPoint.ID
			}
			if e.BizLocation != nil {
				w.BizLocation = e.BizLocation.ID
			}
			return w
		}
		docs := func(e epcisEvent) []string {
			var out []string
			for _, b := range e.BizTx {
				out = append(out, b.Type+" "+b.ID)
			}
			slices.Sort(out)
			return out
		}
		rec := byStep["ObjectEvent/receiving"]
		if diff := cmp.Diff(where{sgln(plantGLN, "DOCK-1"), sgln(plantGLN, "COLD-1")}, at(rec)); diff != "" {
			t.Errorf("receiving location (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"bol https://id.example.com/document/bol/BOL-5512", "po https://id.example.com/document/po/PO-778"}, docs(rec)); diff != "" {
			t.Errorf("receiving documents (-want +got):\n%s", diff)
		}
		// The received lot is named as its supplier labelled it: GTIN and
		// the supplier's lot number, its traceability lot code.
		romaine := "https://id.gs1.org/01/" + romaineGTIN + "/10/GF-0425"
		if diff := cmp.Diff([]qe{{romaine, "400", "KGM"}}, rec.Quantities); diff != "" {
			t.Errorf("receiving quantity (-want +got):\n%s", diff)
		}
		if !slices.ContainsFunc(rec.Sources, func(s struct {
			Type   string `json:"type"`
			Source string `json:"source"`
		}) bool {
			return s.Type == "location" && s.Source == sgln(supplierGLN, "")
		}) {
			t.Errorf("receiving sources %+v lack the supplier's place", rec.Sources)
		}
		made := byStep["TransformationEvent/commissioning"]
		if diff := cmp.Diff(where{sgln(plantGLN, "LINE-2"), sgln(plantGLN, "PACK")}, at(made)); diff != "" {
			t.Errorf("transformation location (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]qe{{romaine, "120", "KGM"}}, made.Inputs); diff != "" {
			t.Errorf("transformation inputs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]qe{{salad, "200", "H87"}}, made.Outputs); diff != "" {
			t.Errorf("transformation outputs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"prodorder https://id.example.com/document/prodorder/WO-91"}, docs(made)); diff != "" {
			t.Errorf("transformation documents (-want +got):\n%s", diff)
		}
		pack := byStep["AggregationEvent/packing"]
		if pack.ParentID != "https://id.gs1.org/00/"+palletSSCC || !cmp.Equal([]qe{{salad, "200", "H87"}}, pack.Children) {
			t.Errorf("packing: parent %s, children %+v; want the pallet's SSCC holding 200 of SAL-1", pack.ParentID, pack.Children)
		}
		ship := byStep["ObjectEvent/shipping"]
		if !slices.Equal(ship.EPCList, []string{"https://id.gs1.org/00/" + palletSSCC}) {
			t.Errorf("shipping EPCs %v; want the pallet", ship.EPCList)
		}
		if at(ship).ReadPoint != sgln(plantGLN, "DOCK-2") {
			t.Errorf("shipped from %q; want dock 2", at(ship).ReadPoint)
		}
		if !slices.ContainsFunc(ship.Destinations, func(d struct {
			Type        string `json:"type"`
			Destination string `json:"destination"`
		}) bool {
			return d.Type == "location" && d.Destination == sgln(customerGLN, "")
		}) {
			t.Errorf("shipping destinations %+v lack the customer's place", ship.Destinations)
		}
		if ds := docs(ship); !slices.Contains(ds, "desadv https://id.example.com/document/desadv/ASN-1") || !slices.Contains(ds, "bol https://id.example.com/document/bol/BOL-9") {
			t.Errorf("shipping documents %v; want ASN-1 and BOL-9", ds)
		}
		// The trace from the shipment reaches the supplier's lot through
		// the pallet.
		if !strings.Contains(string(doc), romaine) {
			t.Error("the shipment's trace does not reach the received lettuce")
		}
	})
}

// TestContainerShippedOnce: a container moves whole, once; an unknown one
// cannot move.
func TestContainerShippedOnce(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		p := newFoodPlant(t, s, clock)
		for _, c := range []struct {
			container string
			code      gate.Code
		}{{palletSSCC, mes.CodeContainerMoved}, {"006141410000000029", mes.CodeContainerUnknown}} {
			_, err := p.env.Engine.Execute(context.Background(), mes.Request{ID: "again-" + c.container, Model: p.shipmentModel,
				Subject: "shipment/SH-2", Command: "ship", Actor: "op-7",
				Consume: []event.Consumption{{Container: c.container, Kind: event.LinkShipped}}})
			var d *mes.DeniedError
			if !errors.As(err, &d) || !slices.ContainsFunc(d.Reasons, func(r gate.Reason) bool { return r.Code == c.code }) {
				t.Errorf("shipping container %s: %v; want denied with %s", c.container, err, c.code)
			}
		}
	})
}
