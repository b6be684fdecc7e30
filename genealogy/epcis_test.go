package genealogy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/internal/epcisschema"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// epcisSchema compiles the official EPCIS 2.0 JSON schema (see
// internal/epcisschema).
func epcisSchema(t *testing.T, strict bool) *epcisschema.Schema {
	t.Helper()
	s, err := epcisschema.New(strict)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, sch *epcisschema.Schema, doc []byte) error {
	t.Helper()
	return sch.Validate(doc)
}

func proofExporter(t *testing.T) (*genealogy.Graph, *genealogy.Exporter) {
	t.Helper()
	st := memory.New(&memory.Config{Clock: fixedClock()})
	proofPlant(t, st)
	g, err := genealogy.Build(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := genealogy.NewExporter(g, &genealogy.ExportConfig{
		Clock:  func() time.Time { return epoch.Add(time.Hour) },
		IDBase: "https://id.example.com/",
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, x
}

// TestEPCISSchema validates exports against the official schema: the
// schema's own examples pass (so the validator works), a document missing
// an event's time fails (so it can fail), and the trace and time-range
// exports pass and match their golden files.
func TestEPCISSchema(t *testing.T) {
	t.Parallel()
	sch := epcisSchema(t, true)
	lax := epcisSchema(t, false)
	for _, ex := range []string{"Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld", "Example_9.6.4-TransformationEvent.jsonld"} {
		b, err := os.ReadFile(filepath.Join("testdata", ex))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, lax, b); err != nil {
			t.Errorf("%s: %v", ex, err)
		}
	}

	g, x := proofExporter(t)
	ctx := context.Background()
	fwd, err := g.Forward(ctx, supplierLot)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := x.EPCIS(fwd)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, doc); err != nil {
		t.Errorf("trace export: %v", err)
	}
	golden(t, "trace_forward.jsonld", doc)

	all, err := x.EPCISRange(epoch, epoch.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, all); err != nil {
		t.Errorf("range export: %v", err)
	}
	var parsed struct {
		Body struct {
			Events []genealogy.EPCISEvent `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal(all, &parsed); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, ev := range parsed.Body.Events {
		types[ev.Type+"/"+ev.BizStep]++
		// Every exported event carries its hash, and a partner that
		// recomputes it from what it received gets the same.
		id := ev.EventID
		ev.EventID = ""
		got, err := genealogy.EventHash(&ev)
		if err != nil || got != id {
			t.Errorf("%s at %s: eventID %s, recomputed %s (%v)", ev.Type, ev.EventTime, id, got, err)
		}
	}
	want := map[string]int{
		"ObjectEvent/receiving":                                    3,
		"TransformationEvent/":                                     4,
		"TransformationEvent/commissioning":                        3,
		"TransformationEvent/https://id.example.com/bizstep/split": 1,
		"AggregationEvent/packing":                                 1,
		"ObjectEvent/shipping":                                     1,
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}

	broken := bytes.Replace(doc, []byte(`"eventTime"`), []byte(`"eventTim"`), 1)
	if err := validate(t, sch, broken); err == nil {
		t.Error("a document with an event missing eventTime validated")
	}
}

func TestEPCISUnknownUnit(t *testing.T) {
	t.Parallel()
	g, _ := proofExporter(t)
	x, err := genealogy.NewExporter(g, &genealogy.ExportConfig{Units: map[string]string{"lb": "LBR"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := g.Forward(context.Background(), supplierLot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.EPCIS(tr); !errors.Is(err, genealogy.ErrUnit) {
		t.Errorf("export with kg unmapped: got %v, want ErrUnit", err)
	}
}

func TestNewExporterConfig(t *testing.T) {
	t.Parallel()
	g, _ := proofExporter(t)
	for _, c := range []struct {
		cfg  genealogy.ExportConfig
		want string
	}{
		{genealogy.ExportConfig{IDBase: "id/"}, "IDBase"},
		{genealogy.ExportConfig{IDBase: "https://x.example"}, "IDBase"},
		{genealogy.ExportConfig{Units: map[string]string{"kg": "kilogram"}}, "Units"},
	} {
		_, err := genealogy.NewExporter(g, &c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
}

// TestEventHashPublished checks the hash against examples published with
// the GS1 reference implementation (github.com/RalphTro/epcis-event-hash-
// generator, tests/examples): its pre-hash string and hash.
func TestEventHashPublished(t *testing.T) {
	t.Parallel()
	// epcisDocWithShippingAndTransportingEvent, second event.
	ev := genealogy.EPCISEvent{
		Type: "ObjectEvent", EventTime: "2020-02-20T16:50:00.000+01:00", EventTimeZoneOffset: "+01:00",
		EPCList: []string{"https://id.gs1.org/00/1401234511122233348"}, Action: "OBSERVE",
		BizStep: "https://ns.gs1.org/voc/Bizstep-transporting", ReadPoint: &genealogy.Location{ID: "geo:47.506694,11.104301"},
	}
	pre, err := genealogy.PreHash(&ev)
	if err != nil {
		t.Fatal(err)
	}
	wantPre := "eventType=ObjectEventeventTime=2020-02-20T15:50:00.000ZeventTimeZoneOffset=+01:00epcListepc=https://id.gs1.org/00/1401234511122233348action=OBSERVEbizStep=https://ns.gs1.org/voc/Bizstep-transportingreadPointid=geo:47.506694,11.104301"
	if diff := cmp.Diff(wantPre, pre); diff != "" {
		t.Errorf("pre-hash (-want +got):\n%s", diff)
	}
	h, err := genealogy.EventHash(&ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ni:///sha-256;525377c6c682a308fbef21db39d76249caea66e925162749a8c3cf7d85383a85?ver=CBV2.0"; h != want {
		t.Errorf("hash: got %s, want %s", h, want)
	}

	// Quantity lists: elements sorted, quantities without trailing zeros,
	// as the reference's tests spell them.
	q := func(s string) *decimal.Decimal { d := decimal.RequireFromString(s); return &d }
	ev = genealogy.EPCISEvent{Type: "ObjectEvent", EventTime: "2019-10-21T11:00:30.0004+01:00", QuantityList: []genealogy.QuantityElement{
		{EPCClass: "https://id.gs1.org/01/04054739999148/10/20160711", Quantity: q("600.00"), UOM: "KGM"},
		{EPCClass: "https://id.gs1.org/01/04012345999884/10/2014-02-10", Quantity: q("2030"), UOM: "KGM"},
	}, BizStep: "commissioning"}
	pre, err = genealogy.PreHash(&ev)
	if err != nil {
		t.Fatal(err)
	}
	wantPre = "eventType=ObjectEventeventTime=2019-10-21T10:00:30.000Z" +
		"quantityListquantityElementepcClass=https://id.gs1.org/01/04012345999884/10/2014-02-10quantity=2030uom=KGMquantityElementepcClass=https://id.gs1.org/01/04054739999148/10/20160711quantity=600uom=KGM" +
		"bizStep=https://ref.gs1.org/cbv/BizStep-commissioning"
	if diff := cmp.Diff(wantPre, pre); diff != "" {
		t.Errorf("pre-hash (-want +got):\n%s", diff)
	}
}

func TestCSVAndDOT(t *testing.T) {
	t.Parallel()
	g, x := proofExporter(t)
	ctx := context.Background()
	back, err := g.Backward(ctx, "FG-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := x.CSV(back)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "trace_backward.csv", out)
	fwd, err := g.Trace(ctx, genealogy.TraceRequest{From: []string{supplierLot}, Direction: storage.Forward, MaxDepth: genealogy.DefaultDepth})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "trace_forward.dot", x.DOT(fwd))
}
