package event_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

func TestDecodeChoosesPayloadByTypeAndStream(t *testing.T) {
	q := decimal.RequireFromString("2.5")
	tests := []struct {
		name   string
		stream string
		typ    string
		want   event.Payload
	}{
		{"transition", "batch-B1", "start", &event.Transition{CommandID: "c1", Model: "batch", ModelVersion: 1,
			Command: "start", From: "planned", To: "in-progress", Refs: map[string]string{"lot": "L1"},
			Quantities: []event.Quantity{{From: "lot/L1", To: "batch-B1", Quantity: q, Unit: "kg"}},
			Nodes:      []event.Node{{ID: "batch-B1", Kind: "batch"}}}},
		{"denied", "batch-B1", event.Denied, &event.Transition{CommandID: "c2", Model: "batch", ModelVersion: 1,
			Command: "release", From: "planned", Reasons: []gate.Reason{{Gate: "role", Code: "role.missing", Message: "no"}}}},
		{"exception's own opening", "exception/DEV-1", event.ExceptionOpened, &event.Transition{CommandID: "c3",
			Model: "exception", ModelVersion: 1, Command: "open", From: "new", To: "open", Data: json.RawMessage(`{"id":"DEV-1"}`)}},
		{"marker on the subject", "batch-B1", event.ExceptionOpened, &event.Marker{CommandID: "c3", Data: json.RawMessage(`{"id":"DEV-1"}`)}},
		{"closing marker", "batch-B1", event.ExceptionClosed, &event.Marker{CommandID: "c4", Data: json.RawMessage(`{"id":"DEV-1"}`)}},
		{"consumption", "lot/L1", event.LotConsumed, &event.Consumed{CommandID: "c1",
			Data: event.Consumption{Lot: "L1", Quantity: q, Unit: "kg", Into: "batch-B1"}}},
		{"signature", "batch-B1", event.SignatureApplied, &event.Signature{CommandID: "c5", Signs: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := event.Decode(&audit.Record{Stream: tt.stream, Version: 1, Type: tt.typ, Payload: b})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRefusesWhatTheEngineDidNotWrite(t *testing.T) {
	for _, r := range []audit.Record{
		{Stream: "batch-B1", Version: 2, Type: "start", Payload: []byte(`{"to":"done"}`)},                // no command id
		{Stream: "batch-B1", Version: 2, Type: "start", Payload: []byte(`[1,2]`)},                        // not an object
		{Stream: "lot/L1", Version: 2, Type: event.LotConsumed, Payload: []byte(`{"data":"x"}`)},         // wrong shape
		{Stream: "auth/u1", Version: 1, Type: event.AuthPrefix + "authenticated", Payload: []byte(`{}`)}, // not engine's
	} {
		_, err := event.Decode(&r)
		var de *event.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, interlock.ErrInvalid) || de.Stream != r.Stream || de.Version != r.Version {
			t.Errorf("Decode(%s v%d %s) = %v; want a *DecodeError naming it, matching ErrInvalid", r.Stream, r.Version, r.Type, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("start", "batch-B1", []byte(`{"command_id":"c","model":"m","model_version":1,"command":"x","from":"a","to":"b"}`))
	f.Add(event.LotConsumed, "lot/L1", []byte(`{"command_id":"c","data":{"lot":"L1","quantity":"1","unit":"kg"}}`))
	f.Add(event.ExceptionOpened, "batch-B1", []byte(`{"command_id":"c","data":{}}`))
	f.Fuzz(func(t *testing.T, typ, stream string, payload []byte) {
		p, err := event.Decode(&audit.Record{Stream: stream, Version: 1, Type: typ, Payload: payload})
		if (p == nil) == (err == nil) {
			t.Fatalf("Decode returned payload %v and error %v; want exactly one", p, err)
		}
		if err != nil && !errors.Is(err, interlock.ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
	})
}
