package review

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/shopspring/decimal"
)

// TestEngineRecordsRoundTripThroughEvent runs a routine and an exceptional
// batch through the engine (routes, weighings, denials, overrides,
// deviations, dispositions, approvals, corrections, signatures, holds) and
// decodes every record it wrote with event.Decode: each decodes, and
// encoding the decoded payload again gives the stored bytes exactly, so the
// event package's types hold every member the engine writes and lose none.
func TestEngineRecordsRoundTripThroughEvent(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.now})
	p := newPlant(t, s, c)
	p.routine("B-OK")
	p.exceptional("B-EXC")
	// Material flow: a batch consumes lot L7 and produces a lot.
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	for _, req := range []mes.Request{
		{ID: "flow-release", Model: batch, Subject: "B-FLOW", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "flow-start", Model: batch, Subject: "B-FLOW", Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: "L7", Quantity: decimal.RequireFromString("2.5"), Unit: "kg"}}},
		{ID: "flow-complete", Model: batch, Subject: "B-FLOW", Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-9", Material: "TAB-500", Quantity: decimal.RequireFromString("2"), Unit: "kg"}}},
	} {
		if _, err := env.Engine.Execute(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", req.ID, err)
		}
	}
	recs, err := s.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := env.Store.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// The flow's engine attests every record it writes.
	for i := range flow {
		if err := env.Attestation.Check(&flow[i]); err != nil {
			t.Errorf("%s v%d (%s): %v", flow[i].Stream, flow[i].Version, flow[i].Type, err)
		}
	}
	recs = append(recs, flow...)
	kinds := map[string]int{}
	for i := range recs {
		r := &recs[i]
		if strings.HasPrefix(r.Type, event.AuthPrefix) {
			continue
		}
		pl, err := event.Decode(r)
		if err != nil {
			t.Errorf("%s v%d (%s): %v", r.Stream, r.Version, r.Type, err)
			continue
		}
		b, err := json.Marshal(pl)
		if err != nil {
			t.Fatalf("%s v%d: encode again: %v", r.Stream, r.Version, err)
		}
		again, err := canonjson.Canonicalize(b)
		if err != nil {
			t.Fatalf("%s v%d: canonicalize: %v", r.Stream, r.Version, err)
		}
		// The attestation is the record's envelope, not payload content.
		if stored := audit.StripAttestation(r.Payload); string(again) != string(stored) {
			t.Errorf("%s v%d (%s) does not round-trip:\n stored %s\n  again %s", r.Stream, r.Version, r.Type, stored, again)
		}
		kinds[typeName(pl)]++
	}
	for _, k := range []string{"Transition", "Signature", "Consumed", "Marker"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the %d records decoded; the scenario does not cover it (%v)", k, len(recs), kinds)
		}
	}
}

func typeName(p event.Payload) string {
	switch p.(type) {
	case *event.Transition:
		return "Transition"
	case *event.Signature:
		return "Signature"
	case *event.Consumed:
		return "Consumed"
	case *event.Marker:
		return "Marker"
	}
	return "?"
}
