package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestBadRequestsNameTheirField: every malformed request is refused with a
// *RequestError naming the field, matching interlock.ErrInvalid, and
// nothing is recorded.
func TestBadRequestsNameTheirField(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil)
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	good := mes.Request{ID: "c1", Model: batch, Subject: "batch-B1", Command: mes.CmdRelease, Actor: "op-7"}
	for _, tt := range []struct {
		field  string
		modify func(*mes.Request)
	}{
		{"ID", func(r *mes.Request) { r.ID = "" }},
		{"Model", func(r *mes.Request) { r.Model = nil }},
		{"Subject", func(r *mes.Request) { r.Subject = "" }},
		{"Command", func(r *mes.Request) { r.Command = "" }},
		{"Actor", func(r *mes.Request) { r.Actor = "" }},
		{"Data", func(r *mes.Request) { r.Data = json.RawMessage(`[1]`) }},
		{"Consume", func(r *mes.Request) {
			r.Consume = []event.Consumption{{Lot: "L7", Quantity: decimal.NewFromInt(-1), Unit: "kg"}}
		}},
		{"Produce", func(r *mes.Request) { r.Produce = []mes.Production{{Lot: "", Material: "M"}} }},
		{"Declare", func(r *mes.Request) { r.Declare = &mes.Declaration{Kind: "planet"} }},
		{"Evidence", func(r *mes.Request) { r.Evidence = []gate.Evidence{{Name: "w", Raw: "S S \xff kg"}} }},
		{"Evidence", func(r *mes.Request) {
			r.Evidence = []gate.Evidence{{Name: "w", Raw: strings.Repeat("x", gate.MaxRawBytes+1)}}
		}},
	} {
		req := good
		tt.modify(&req)
		_, err := env.Engine.Execute(context.Background(), req)
		var re *mes.RequestError
		if !errors.As(err, &re) || re.Field != tt.field || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: %v; want a *RequestError naming %s, matching ErrInvalid", tt.field, err, tt.field)
		}
	}
	recs, err := env.Store.ReadAll(context.Background(), 0, 10)
	if err != nil || len(recs) != 0 {
		t.Errorf("the store holds %d records after refused requests (%v); want none", len(recs), err)
	}
}

// TestEvidenceReadingTime: the time an instrument gave a reading is kept
// on the record in UTC, with its frame; the caller's evidence is not
// changed.
func TestEvidenceReadingTime(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("read", 1).States("a", "b").Initial("a").Final("b").
		Permit("a", "go", "b", mes.WithEvidence(mes.EvidenceRequirement{Name: "w"})).Build())
	at := time.Date(2026, 11, 25, 10, 0, 0, 5, time.FixedZone("CET", 3600))
	evs := []gate.Evidence{{Name: "w", HasValue: true, Value: decimal.RequireFromString("1.5"), Unit: "kg", Source: gate.SourceDevice,
		Instrument: "SC-01", Stable: true, Raw: "S S      1.500 kg", At: at}}
	out, err := env.Engine.Execute(context.Background(), mes.Request{ID: "r1", Model: m, Subject: "order/O1", Command: "go", Actor: "op-7", Evidence: evs})
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].At != at {
		t.Errorf("the caller's evidence was changed: %v", evs[0].At)
	}
	var got []gate.Evidence
	if err := json.Unmarshal(out.Records[0].Evidence, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].At.Equal(at) || got[0].At.Location() != time.UTC || got[0].Raw != "S S      1.500 kg" {
		t.Errorf("recorded %+v (%s); want the reading's time in UTC and its frame", got, out.Records[0].Evidence)
	}
	if !strings.Contains(string(out.Records[0].Evidence), `"At":"2026-11-25T09:00:00.000000005Z"`) {
		t.Errorf("evidence %s", out.Records[0].Evidence)
	}
}
