package mes

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// BenchmarkAttestTransition is what attestation adds to a gated
// transition: the attestation of its record (a weighing's payload and
// evidence, about 360 bytes), taken as canonical ("trusted", as the engine
// does for its own encodings) or canonicalized first ("canonicalized", as
// for any other record). The MAC alone is audit's BenchmarkAttest.
func BenchmarkAttestTransition(b *testing.B) {
	a, err := audit.NewAttester("bench", make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := audit.NewAttested(a)
	if err != nil {
		b.Fatal(err)
	}
	p := event.Transition{CommandID: "weigh-B42-S10-complete", Model: "weigh-step", ModelVersion: 3, Step: "S10", Command: CmdComplete,
		From: "in-progress", To: "complete", Refs: map[string]string{"lot": "L7", "scale": "SC-01"},
		Data: json.RawMessage(`{"target":"12.50","unit":"kg"}`)}
	payload, err := appendPayload(nil, &p)
	if err != nil {
		b.Fatal(err)
	}
	evidence, err := appendEvidence(nil, []gate.Evidence{{Name: "net-weight", Identity: "SC-01", HasValue: true,
		Value: decimal.RequireFromString("12.49"), Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01", Stable: true}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		canonical int
	}{{"trusted", 1}, {"canonicalized", 0}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(payload) + len(evidence)))
			b.ReportAllocs()
			for b.Loop() {
				req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-B42", ExpectedVersion: 7,
					Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: payload, Evidence: evidence}}}}}
				if err := attestEvents(keys, &req, c.canonical); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
