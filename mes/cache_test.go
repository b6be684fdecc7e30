package mes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// TestStaleCacheNeverDecides: two engines share a store. Engine a caches
// the facts its gates read; engine b then revokes op-7's role and holds the
// lot. a's next command must see both: its first attempt, decided on the
// cached facts, conflicts on their versions and the retry reads them again.
func TestStaleCacheNeverDecides(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		a, _, _ := newEngineOn(t, s)
		b := must[*mes.Engine](t)(mes.New(s, &mes.Config{Clock: mes.ClockOf(a), Attestation: mestest.Attestation()}))
		fb := newFacts(t, b)
		fb.n = 1000 // command ids apart from the plant's
		m := dispenseModel(t)
		if _, err := a.Execute(ctx, startReq(m, "first", "op-7")); err != nil {
			t.Fatalf("first start: %v", err)
		}
		fb.run("person", event.PersonStream("op-7"), mes.CmdRevokeRole, map[string]string{"role": "operator"})
		fb.run("lot", event.LotStream("L7"), mes.CmdHold, map[string]string{"reason": "complaint"})
		req := startReq(m, "second", "op-7")
		req.Subject = "batch-B43"
		_, err := a.Execute(ctx, req)
		var de *mes.DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, gate.CodeRoleMissing) || !hasCode(de.Reasons, gate.CodeLotOnHold) {
			t.Fatalf("start after the role was revoked and the lot held: %v; want both reasons", err)
		}
		// And the other way round: b grants the role back and releases the
		// hold; a, which cached the revoked role, allows the start.
		fb.run("person", event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "operator"})
		fb.run("lot", event.LotStream("L7"), mes.CmdReleaseHold, nil)
		req.ID = "third"
		if _, err := a.Execute(ctx, req); err != nil {
			t.Fatalf("start after the role was granted again: %v", err)
		}
	})
}

// TestStaleSubjectReplays: engine b holds the subject's records from
// before engine a ran a command on it; submitted to b again, the command is
// found and replayed, not run twice, and b's next command on the subject
// sees a's records.
func TestStaleSubjectReplays(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		a, _, _ := newEngineOn(t, s)
		b := must[*mes.Engine](t)(mes.New(s, &mes.Config{Clock: mes.ClockOf(a), Attestation: mestest.Attestation()}))
		m := verifyModel(t, 1)
		start := mes.Request{ID: "start", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdStart, Actor: "op-7"}
		if _, err := b.Execute(ctx, start); err != nil {
			t.Fatal(err)
		}
		complete := mes.Request{ID: "complete", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7"}
		first, err := a.Execute(ctx, complete)
		if err != nil {
			t.Fatal(err)
		}
		again, err := b.Execute(ctx, complete)
		if err != nil || !again.Replayed || again.To != lifecycle.StepComplete || len(again.Records) != 1 || again.Records[0].Hash != first.Records[0].Hash {
			t.Fatalf("resubmitted to b: %+v, %v; want a's outcome replayed", again, err)
		}
		_, err = b.Execute(ctx, mes.Request{ID: "complete-2", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7"})
		if !errors.Is(err, mes.ErrIllegalTransition) {
			t.Fatalf("completing again on b: %v; want it illegal, b having read a's completion", err)
		}
		recs, _ := s.Load(ctx, "batch-B42", 1)
		if len(recs) != 3 {
			t.Errorf("%d records; want start, complete and one denied attempt", len(recs))
		}
	})
}
