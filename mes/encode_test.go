package mes_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// TestEncodeMatchesJSON holds the hand-written encoders to encoding/json:
// both give the same canonical bytes for any payload and evidence.
func TestEncodeMatchesJSON(t *testing.T) { checkEncoders(t, false) }

// TestEncodeIsCanonical: the hand-written encoders write canonical JSON
// themselves (given canonical Data, as a validated request has it), byte
// for byte: attestation takes a transition's own records as they are.
func TestEncodeIsCanonical(t *testing.T) { checkEncoders(t, true) }

func checkEncoders(t *testing.T, exact bool) {
	str := rapid.OneOf(rapid.String(), rapid.SampledFrom([]string{"", "a", "<&>", "\u2028", "\"\\", "\x01"}))
	rapid.Check(t, func(t *rapid.T) {
		p := event.Transition{
			CommandID: str.Draw(t, "id"), Model: str.Draw(t, "model"), ModelVersion: rapid.IntRange(0, 1<<30).Draw(t, "v"),
			Step: str.Draw(t, "step"), Command: mes.Command(str.Draw(t, "cmd")), From: mes.State(str.Draw(t, "from")), To: mes.State(str.Draw(t, "to")),
			Refs: rapid.MapOfN(str, str, 0, 10).Draw(t, "refs"), Critical: rapid.Bool().Draw(t, "critical"),
		}
		if rapid.Bool().Draw(t, "data") {
			p.Data = json.RawMessage(`{"b":[1,2.50,"x"],"a":{"z":null}}`)
			if exact {
				// As Request.validate leaves it.
				c, err := canonjson.Canonicalize(p.Data)
				if err != nil {
					t.Fatal(err)
				}
				p.Data = c
			}
		}
		if rapid.Bool().Draw(t, "reasons") {
			p.Reasons = []gate.Reason{{Gate: str.Draw(t, "gate"), Code: "c.d", Message: str.Draw(t, "msg")}}
		}
		if rapid.Bool().Draw(t, "flow") {
			q := decimal.New(rapid.Int64().Draw(t, "q"), int32(rapid.IntRange(-6, 6).Draw(t, "qexp")))
			p.IdentitySource = str.Draw(t, "identity source")
			p.Quantities = []event.Quantity{{From: str.Draw(t, "qfrom"), To: str.Draw(t, "qto"), Quantity: q, Unit: "kg"}}
			p.Nodes = []event.Node{{ID: str.Draw(t, "node"), Kind: "lot", Material: str.Draw(t, "material"), Quantity: &q, Unit: "kg"}}
		}
		if rapid.Bool().Draw(t, "location") {
			p.Location = &event.Location{ReadPoint: &event.Place{GLN: "4012345000009", Extension: str.Draw(t, "ext")},
				BizLocation: &event.Place{ID: str.Draw(t, "place"), Description: str.Draw(t, "where")}}
			p.References = []event.Reference{{Type: "po", Number: str.Draw(t, "po")}}
			p.Nodes = append(p.Nodes, event.Node{ID: "n", Kind: "lot", Description: str.Draw(t, "desc"),
				LotSource: &event.Place{GLN: "4012345000009"}, Landing: &event.Landing{HarvestArea: str.Draw(t, "area")}})
		}
		if rapid.Bool().Draw(t, "override") {
			p.Override = &event.Override{Reason: str.Draw(t, "why"), Overridden: p.Reasons, Exception: "override-x"}
		}
		evs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) gate.Evidence {
			ev := gate.Evidence{Name: str.Draw(t, "name"), Identity: str.Draw(t, "identity"), HasValue: rapid.Bool().Draw(t, "has"),
				Value: decimal.New(rapid.Int64().Draw(t, "coef"), int32(rapid.IntRange(-10, 10).Draw(t, "exp"))),
				Unit:  str.Draw(t, "unit"), Source: gate.Source(str.Draw(t, "source")), Instrument: str.Draw(t, "instrument"), Stable: rapid.Bool().Draw(t, "stable")}
			if rapid.Bool().Draw(t, "raw") {
				ev.Raw = str.Draw(t, "raw frame")
			}
			if rapid.Bool().Draw(t, "at") {
				ev.At = time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, "at s"), rapid.Int64Range(0, 999999999).Draw(t, "at ns")).UTC()
			}
			return ev
		}), -1, 4).Draw(t, "evidence")
		if rapid.Bool().Draw(t, "nil evidence") {
			evs = nil
		}
		same := func(what string, got []byte, gotErr error, v any) {
			want, wantErr := json.Marshal(v)
			if wantErr != nil {
				t.Fatal(wantErr)
			}
			cw, err := canonjson.Canonicalize(want)
			if err != nil {
				t.Fatal(err)
			}
			if gotErr != nil {
				t.Fatalf("%s: %v", what, gotErr)
			}
			cg, err := canonjson.Canonicalize(got)
			if err != nil {
				t.Fatalf("%s: %s is not JSON: %v", what, got, err)
			}
			if exact && string(cg) != string(got) {
				t.Fatalf("%s is not canonical:\n got %s\nwant %s", what, got, cg)
			}
			if string(cg) != string(cw) {
				t.Fatalf("%s:\n got %s\nwant %s", what, cg, cw)
			}
		}
		got, err := mes.AppendPayload(nil, &p)
		same("payload", got, err, p)
		got, err = mes.AppendEvidence(nil, evs)
		same("evidence", got, err, evs)
	})
}

// TestRequestDataMustBeObject: data that is not a JSON object is refused
// before anything is read or written.
func TestRequestDataMustBeObject(t *testing.T) {
	t.Parallel()
	e, s := newEngine(t)
	m := dispenseModel(t)
	for _, data := range []string{`[1]`, `"x"`, `{"a":`, `{"a":1}x`, ` 12`} {
		req := startReq(m, "bad-data", "op-7")
		req.Data = json.RawMessage(data)
		if _, err := e.Execute(context.Background(), req); err == nil {
			t.Errorf("data %s accepted", data)
		}
	}
	if recs, _ := s.Load(context.Background(), "batch-B42", 1); len(recs) != 0 {
		t.Errorf("refused requests left %d records", len(recs))
	}
}

// TestReplayEscapedIDs: a command ID and step with characters JSON may
// escape (<, >, &, quotes, non-ASCII) is found again when resubmitted.
func TestReplayEscapedIDs(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	m := verifyModel(t, 1)
	for _, id := range []string{`cmd<1>&"x"`, "cmd-ü-\u2028"} {
		req := mes.Request{ID: id, Model: m, Subject: "batch-" + id, Step: `S<10>&ü`, Command: mes.CmdStart, Actor: "op-7"}
		if _, err := e.Execute(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		out, err := e.Execute(context.Background(), req)
		if err != nil || !out.Replayed || out.To != lifecycle.StepInProgress {
			t.Errorf("resubmitted %q: %+v, %v; want the first outcome replayed", id, out, err)
		}
		req.ID, req.Command = id+"-2", mes.CmdComplete
		if out, err := e.Execute(context.Background(), req); err != nil || out.From != lifecycle.StepInProgress {
			t.Errorf("complete step %q: %+v, %v; want it to fold from in-progress", req.Step, out, err)
		}
	}
}
