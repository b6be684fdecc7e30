package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/shopspring/decimal"
)

// TestLocationAndReferencesChecked: a location, reference, declared place
// or landing that is not one is refused with the field named, before
// anything is recorded; a good one is recorded with the transition.
func TestLocationAndReferencesChecked(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil)
	lot := mestest.Must[*mes.Model](t)(mes.LotModel())
	good := &event.Place{GLN: "0614141000005", Extension: "DOCK-1"}
	day := mestest.Now.Add(-24 * time.Hour)
	for _, c := range []struct {
		name  string
		edit  func(*mes.Request)
		field string
	}{
		{"GLN check digit", func(r *mes.Request) { r.Location = &event.Location{ReadPoint: &event.Place{GLN: "0614141000006"}} }, "Location"},
		{"GLN length", func(r *mes.Request) { r.Location = &event.Location{BizLocation: &event.Place{GLN: "614141000005"}} }, "Location"},
		{"GLN and id", func(r *mes.Request) { r.Location = &event.Location{ReadPoint: &event.Place{GLN: good.GLN, ID: "dock"}} }, "Location"},
		{"neither", func(r *mes.Request) { r.Location = &event.Location{ReadPoint: &event.Place{Description: "somewhere"}} }, "Location"},
		{"empty location", func(r *mes.Request) { r.Location = &event.Location{} }, "Location"},
		{"extension without GLN", func(r *mes.Request) { r.Location = &event.Location{ReadPoint: &event.Place{ID: "d", Extension: "1"}} }, "Location"},
		{"extension charset", func(r *mes.Request) {
			r.Location = &event.Location{ReadPoint: &event.Place{GLN: good.GLN, Extension: "DOCK 1"}}
		}, "Location"},
		{"extension length", func(r *mes.Request) {
			r.Location = &event.Location{ReadPoint: &event.Place{GLN: good.GLN, Extension: strings.Repeat("A", 21)}}
		}, "Location"},
		{"reference type", func(r *mes.Request) { r.References = []event.Reference{{Type: "memo", Number: "1"}} }, "References"},
		{"reference number", func(r *mes.Request) { r.References = []event.Reference{{Type: "po"}} }, "References"},
		{"reference twice", func(r *mes.Request) {
			r.References = []event.Reference{{Type: "po", Number: "1"}, {Type: "po", Number: "1"}}
		}, "References"},
		{"lot source", func(r *mes.Request) {
			r.Declare = &mes.Declaration{Kind: "lot", LotSource: &event.Place{GLN: "1"}, IdentitySource: gate.SourceManual}
		}, "Declare"},
		{"destination of a lot", func(r *mes.Request) {
			r.Declare = &mes.Declaration{Kind: "lot", Destination: good, IdentitySource: gate.SourceManual}
		}, "Declare"},
		{"landing order", func(r *mes.Request) {
			r.Declare = &mes.Declaration{Kind: "lot", IdentitySource: gate.SourceManual,
				Landing: &event.Landing{HarvestStart: day, HarvestEnd: day.Add(-time.Hour), HarvestArea: "NMFS 514", Landed: day}}
		}, "Declare"},
		{"landing area", func(r *mes.Request) {
			r.Declare = &mes.Declaration{Kind: "lot", IdentitySource: gate.SourceManual,
				Landing: &event.Landing{HarvestStart: day, HarvestEnd: day, Landed: day}}
		}, "Declare"},
		{"container with quantity", func(r *mes.Request) {
			r.Consume = []event.Consumption{{Container: "P1", Quantity: mestest.Decimal(t, "1"), Unit: "ea", Kind: event.LinkShipped}}
		}, "Consume"},
		{"container and lot", func(r *mes.Request) {
			r.Consume = []event.Consumption{{Container: "P1", Lot: "L1", Kind: event.LinkShipped}}
		}, "Consume"},
		{"container consumed", func(r *mes.Request) { r.Consume = []event.Consumption{{Container: "P1"}} }, "Consume"},
		{"huge consumption", func(r *mes.Request) {
			r.Consume = []event.Consumption{{Lot: "L1", Quantity: decimal.New(1, 999999), Unit: "kg"}}
		}, "Consume"},
		{"huge production", func(r *mes.Request) {
			r.Produce = []mes.Production{{Lot: "L2", Material: "M", Quantity: decimal.New(1, 1000), Unit: "kg"}}
		}, "Produce"},
		{"huge evidence", func(r *mes.Request) {
			r.Evidence = []gate.Evidence{{Name: "weight", HasValue: true, Value: decimal.New(7, -999), Unit: "kg"}}
		}, "Evidence"},
	} {
		req := mes.Request{ID: "r-" + c.name, Model: lot, Subject: event.LotStream("L-" + c.name), Command: mes.CmdReceive, Actor: "rx-1"}
		c.edit(&req)
		_, err := env.Engine.Execute(context.Background(), req)
		var re *mes.RequestError
		if !errors.As(err, &re) || re.Field != c.field || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: %v; want a *RequestError for %s", c.name, err, c.field)
		}
		if recs := mestest.Must[[]audit.Record](t)(env.Store.Load(context.Background(), req.Subject, 1)); len(recs) != 0 {
			t.Errorf("%s: %d records written", c.name, len(recs))
		}
	}
	req := mes.Request{ID: "ok", Model: lot, Subject: event.LotStream("L-ok"), Command: mes.CmdReceive, Actor: "rx-1",
		Location: &event.Location{ReadPoint: good}, References: []event.Reference{{Type: "po", Number: "PO-1"}}}
	out := mestest.Must[*mes.Outcome](t)(env.Engine.Execute(context.Background(), req))
	var p event.Transition
	if err := json.Unmarshal(audit.StripAttestation(out.Records[0].Payload), &p); err != nil {
		t.Fatal(err)
	}
	if p.Location == nil || *p.Location.ReadPoint != *good || len(p.References) != 1 || p.References[0].Number != "PO-1" {
		t.Errorf("recorded location %+v, references %+v", p.Location, p.References)
	}
	// A retry with another location is another request.
	req.Location = &event.Location{ReadPoint: &event.Place{ID: "elsewhere"}}
	var reused *mes.CommandReusedError
	if _, err := env.Engine.Execute(context.Background(), req); !errors.As(err, &reused) || reused.Field != "Location" {
		t.Errorf("the command again from elsewhere: %v; want CommandReusedError on Location", err)
	}
}

// TestReadPointFromEquipment: a step that runs on registered equipment
// records the equipment's place as its read point, from master data,
// unless the request names one; equipment registered at a place that is
// not one is denied.
func TestReadPointFromEquipment(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		env := mestest.NewOn(t, s, clock, nil)
		line := &event.Place{GLN: "0614141000005", Extension: "LINE-2", Description: "Line 2"}
		env.Fact("equipment", event.EquipmentStream("LN-2"), mes.CmdRegister, map[string]any{"status": "available", "location": line})
		eq := mestest.Must[*mes.Model](t)(mes.EquipmentModel())
		_, err := env.Engine.Execute(ctx, mes.Request{ID: "bad-place", Model: eq, Subject: event.EquipmentStream("LN-3"), Command: mes.CmdRegister,
			Actor: "admin", Data: json.RawMessage(`{"status":"available","location":{"gln":"0614141000006"}}`)})
		var d *mes.DeniedError
		if !errors.As(err, &d) || d.Reasons[0].Code != mes.CodeLocationInvalid {
			t.Errorf("equipment at a GLN with a wrong check digit: %v; want %s", err, mes.CodeLocationInvalid)
		}
		step := mestest.Must[*mes.Model](t)(mes.NewModel("run", 1).States("a", "b").Initial("a").Final("b").
			Permit("a", "go", "b", mes.Recording("run.went"), mes.ReadPointFrom("line")).Build())
		locationOf := func(id string, loc *event.Location) *event.Location {
			t.Helper()
			req := mes.Request{ID: id, Model: step, Subject: "run/" + id, Command: "go", Actor: "op-7", Refs: map[string]string{"line": "LN-2"}, Location: loc}
			out := mestest.Must[*mes.Outcome](t)(env.Engine.Execute(ctx, req))
			var p event.Transition
			if err := json.Unmarshal(audit.StripAttestation(out.Records[0].Payload), &p); err != nil {
				t.Fatal(err)
			}
			// The retry of the same request replays it.
			if again, err := env.Engine.Execute(ctx, req); err != nil || !again.Replayed {
				t.Errorf("%s again: %v; want it replayed", id, err)
			}
			return p.Location
		}
		room := &event.Place{ID: "room-2"}
		if got := locationOf("from-master-data", &event.Location{BizLocation: room}); got == nil || !cmp.Equal(got.ReadPoint, line) || !cmp.Equal(got.BizLocation, room) {
			t.Errorf("recorded %+v; want the line's place as read point and room 2", got)
		}
		dock := &event.Place{ID: "dock"}
		if got := locationOf("given", &event.Location{ReadPoint: dock}); got == nil || !cmp.Equal(got.ReadPoint, dock) {
			t.Errorf("recorded %+v; want the read point the request gave", got)
		}
	})
}
