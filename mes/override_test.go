package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// overridable is the dispense batch whose start a supervisor may override.
func overridable(tb testing.TB, allow bool) *mes.Model {
	g := must[gate.Gate](tb)
	opts := []mes.Option{mes.Recording("batch.started"), mes.WithGates(g(gate.RequireRole("operator")), g(gate.LotUsable(gate.FromRef("lot"), "API-100"))),
		mes.WithEvidence(mes.EvidenceRequirement{Name: "lot-scan"})}
	if allow {
		opts = append(opts, mes.AllowOverride("supervisor"))
	}
	return must[*mes.Model](tb)(mes.NewModel("dispense", 1).
		States(lifecycle.BatchReady, lifecycle.BatchInProgress, lifecycle.BatchComplete).Initial(lifecycle.BatchReady).Final(lifecycle.BatchComplete).
		Permit(lifecycle.BatchReady, mes.CmdStart, lifecycle.BatchInProgress, opts...).
		Permit(lifecycle.BatchInProgress, mes.CmdComplete, lifecycle.BatchComplete, mes.Recording("batch.completed"), mes.WithGates(g(gate.NoOpenException()))).
		Build())
}

func newOverrideEngine(tb testing.TB, s storage.Store) *signing {
	sg := newSigning(tb, s, "sv-1", "op-7", "qa-3")
	sg.facts.run("person", event.PersonStream("sv-1"), mes.CmdRegister, map[string]string{"name": "Sam Supervisor"})
	sg.facts.run("person", event.PersonStream("sv-1"), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
	sg.facts.run("person", event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
	sg.facts.run("lot", event.LotStream("L7"), mes.CmdHold, map[string]string{"reason": "supplier complaint"})
	return sg
}

// TestOverride: a supervisor other than the executor overrides the failed
// lot gate with a reason; the transition records what it overrode, the
// signature follows it, and a deviation is open on the batch, which blocks
// its completion.
func TestOverride(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		sg := newOverrideEngine(t, s)
		m := overridable(t, true)
		out, err := sg.e.Execute(ctx, mes.Request{ID: "start-1", Model: m, Subject: "batch-B42", Command: mes.CmdStart, Actor: "op-7",
			Refs: map[string]string{"lot": "L7"}, Evidence: []gate.Evidence{scan("L7")},
			Override: &mes.Override{Reason: "hold is administrative; QA confirmed by phone", Sign: mes.Sign{Challenge: full("sv-1")}}})
		if err != nil {
			t.Fatalf("override: %v", err)
		}
		if out.To != lifecycle.BatchInProgress || len(out.Records) != 4 {
			t.Fatalf("outcome %+v: want start, signature, exception marker on the batch and the exception's record", out)
		}
		var p event.Transition
		if err := json.Unmarshal(out.Records[0].Payload, &p); err != nil || p.Override == nil ||
			!hasCode(p.Override.Overridden, gate.CodeLotOnHold) || p.Override.Exception != "override-start-1" {
			t.Fatalf("payload %s: want the overridden lot hold and its exception", out.Records[0].Payload)
		}
		if r := out.Records[1]; r.Type != event.SignatureApplied || r.Actor != "sv-1" {
			t.Errorf("record 2 %s by %s; want the override signature by sv-1", r.Type, r.Actor)
		}
		if out.Signatures[0].Manifestation.Meaning != signature.Meaning(mes.MeaningOverride) {
			t.Errorf("signature meaning %q", out.Signatures[0].Manifestation.Meaning)
		}
		if r := out.Records[2]; r.Type != event.ExceptionOpened || r.Stream != "batch-B42" {
			t.Errorf("record 3 %s on %s; want the exception marker on the batch", r.Type, r.Stream)
		}
		if r := out.Records[3]; r.Type != event.ExceptionOpened || r.Stream != event.ExceptionStream("override-start-1") {
			t.Errorf("record 4 %s on %s; want the exception's own record", r.Type, r.Stream)
		}
		recs, _ := s.Load(ctx, "batch-B42", 1)
		if c := mes.VerifySignatures(recs, sg.pub); len(c) != 1 || c[0].Err != nil {
			t.Errorf("signatures: %+v", c)
		}
		open, err := mes.NewFacts(s, "", nil).OpenExceptions(ctx, "batch-B42")
		if err != nil || len(open) != 1 || open[0].ID != "override-start-1" || open[0].Kind != exception.KindDeviation {
			t.Fatalf("open exceptions %+v, %v; want the override's deviation", open, err)
		}
		_, err = sg.e.Execute(ctx, mes.Request{ID: "complete-1", Model: m, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7"})
		var de *mes.DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, gate.CodeExceptionOpen) {
			t.Errorf("complete with the deviation open: %v; want it blocked", err)
		}
	})
}

// TestOverrideDenied: an override that does not carry is denied, with the
// gate failures and the override's own reason on the record.
func TestOverrideDenied(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		allow    bool
		held     bool
		evidence bool
		reason   string
		signer   string
		want     gate.Code
	}{
		{"executor approves own override", true, true, true, "r", "op-7", mes.CodeOverrideSelf},
		{"approver without the role", true, true, true, "r", "qa-3", mes.CodeOverrideRole},
		{"no reason", true, true, true, "", "sv-1", mes.CodeOverrideNoReason},
		{"model does not allow it", false, true, true, "r", "sv-1", mes.CodeOverrideNotAllowed},
		{"missing evidence cannot be overridden", true, true, false, "r", "sv-1", mes.CodeOverrideNotAllowed},
		{"nothing failed", true, false, true, "r", "sv-1", mes.CodeOverrideNotNeeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := memory.New(&memory.Config{Clock: func() time.Time { return now }})
			var sg *signing
			if tc.held {
				sg = newOverrideEngine(t, s)
			} else {
				sg = newSigning(t, s, "sv-1")
				sg.facts.run("person", event.PersonStream("sv-1"), mes.CmdRegister, map[string]string{"name": "Sam Supervisor"})
				sg.facts.run("person", event.PersonStream("sv-1"), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
			}
			var ev []gate.Evidence
			if tc.evidence {
				ev = []gate.Evidence{scan("L7")}
			}
			_, err := sg.e.Execute(ctx, mes.Request{ID: "start-1", Model: overridable(t, tc.allow), Subject: "batch-B42", Command: mes.CmdStart, Actor: "op-7",
				Refs: map[string]string{"lot": "L7"}, Evidence: ev, Override: &mes.Override{Reason: tc.reason, Sign: mes.Sign{Challenge: full(tc.signer)}}})
			var de *mes.DeniedError
			if !errors.As(err, &de) || !hasCode(de.Reasons, tc.want) {
				t.Fatalf("error = %v; want a denial with %s", err, tc.want)
			}
			if tc.held && !hasCode(de.Reasons, gate.CodeLotOnHold) {
				t.Errorf("reasons %v: the gate failure must be recorded with the override's", de.Reasons)
			}
			recs, _ := s.Load(ctx, "batch-B42", 1)
			if len(recs) != 1 || recs[0].Type != event.Denied {
				t.Errorf("batch records %v; want one denied attempt", recs)
			}
			if exc, _ := s.Load(ctx, event.ExceptionStream("override-start-1"), 1); len(exc) != 0 {
				t.Error("a denied override opened an exception")
			}
		})
	}
}
