package mes_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/correction"
	"github.com/interlock-mes/interlock/mes/release"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// weighVerified is a weighing step whose verification needs a second
// person of the qa role, and that can be blocked.
func weighVerified(tb testing.TB) *mes.Model {
	g := must[gate.Gate](tb)
	tol := gate.Tolerance{Target: decimalOf(tb, "12.50"), Below: decimalOf(tb, "0.05"), Above: decimalOf(tb, "0.05"), Unit: "kg", Bounds: gate.Inclusive}
	return must[*mes.Model](tb)(mes.NewModel("weigh-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepBlocked, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"), mes.WithGates(
			g(gate.RequireRole("operator")), g(gate.TrainingCurrent("dispensing")), g(gate.EquipmentReady(gate.FromRef("scale"))),
			g(gate.LotUsable(gate.FromRef("lot"), "API-100")), g(gate.EvidencePresent("lot-scan", gate.FromRef("lot"))))).
		Permit(lifecycle.StepInProgress, mes.CmdBlock, lifecycle.StepBlocked, mes.Recording("step.blocked")).
		Permit(lifecycle.StepBlocked, mes.CmdUnblock, lifecycle.StepInProgress, mes.Recording("step.unblocked")).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(g(gate.WithinTolerance("net-weight", tol)), g(gate.RequireStable("net-weight")), g(gate.NoOpenException()))).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, Roles: []string{"qa"}, NotPerformer: true})).
		Build())
}

func codesOf(bs []release.Blocker) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, string(b.Code)+" "+b.Ref)
	}
	return out
}

// TestBatchEndToEnd runs a batch from release to the floor to QA release on
// both stores: an out-of-tolerance weighing is denied and a rule opens a
// deviation that holds the batch; it is dispositioned, approved with an
// e-signature by a second person and closed; the hold is released, the
// step weighed again and verified by a second person; the batch completes,
// reconciles, and is released by a QA person who took no part in it, after
// one who did was refused.
func TestBatchEndToEnd(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		weigh, plain := weighVerified(t), must[*mes.Model](t)(lifecycle.Step())
		const batch = "batch-B42"
		ready := &release.Config{Steps: []release.RequiredStep{{ID: "S10", Verify: true}, {ID: "S20", Verify: true}}, Key: v.pub}
		releaseModel := must[*mes.Model](t)(release.Model(ready, []string{"qa"}))
		refs := map[string]string{"lot": "L7", "scale": "SC-01"}
		readiness := func() *release.Verdict {
			t.Helper()
			return must[*release.Verdict](t)(release.Readiness(ctx, s, batch, ready))
		}

		v.startBatch(t, batch)
		v.exec(t, mes.Request{ID: "s10-start", Model: weigh, Subject: batch, Step: "S10", Command: mes.CmdStart, Actor: "op-7",
			Refs: refs, Evidence: []gate.Evidence{scan("L7")}})
		weighing := func(id, kg string) mes.Request {
			return mes.Request{ID: id, Model: weigh, Subject: batch, Step: "S10", Command: mes.CmdComplete, Actor: "op-7", Refs: refs,
				Evidence: []gate.Evidence{weight(t, kg, gate.SourceDevice, true)},
				Consume:  []event.Consumption{{Lot: "L7", Quantity: decimalOf(t, kg), Unit: "kg"}}}
		}

		// Out of tolerance: denied, and the rule opens a deviation that
		// holds the batch.
		req := weighing("s10-c1", "12.61")
		out, denied := v.e.Execute(ctx, req)
		if !hasDenialCode(denied, gate.CodeAboveUpperLimit) {
			t.Fatalf("weighing 12.61: %v", denied)
		}
		opened, err := v.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceHold), req, out, denied)
		if err != nil || opened.Consequence == nil || opened.Consequence.To != lifecycle.BatchHeld {
			t.Fatalf("deviation: %+v, %v; want it open and the batch held", opened, err)
		}
		dev := "oot-s10-c1"
		wantBlocking := []string{
			string(release.CodeBatchHeld) + " ",
			string(release.CodeStepNotDone) + " S10",
			string(release.CodeStepNotDone) + " S20",
			string(release.CodeExceptionOpen) + " " + dev,
		}
		if d := cmp.Diff(wantBlocking, codesOf(readiness().Blocking)); d != "" {
			t.Errorf("blockers with the deviation open (-want +got):\n%s", d)
		}
		// The step cannot complete while the deviation is open.
		if _, err := v.e.Execute(ctx, weighing("s10-c2", "12.49")); !hasDenialCode(err, gate.CodeExceptionOpen) {
			t.Errorf("weighing with the deviation open: %v; want %s", err, gate.CodeExceptionOpen)
		}
		// Dispositioned, a self-approval refused, approved by a second person.
		must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-1", Actor: "qa-4"}, dev, exception.Disposition{Decision: exception.DispositionRedo,
			Rationale: "weigh again from the same lot; the excess goes back to the lot"}))
		if _, err := v.x.Approve(ctx, exception.By{CommandID: "appr-0", Actor: "qa-4"}, dev, mes.Sign{Challenge: full("qa-4")}); !hasDenialCode(err, mes.CodeSignatureSelf) {
			t.Errorf("self-approval: %v; want %s", err, mes.CodeSignatureSelf)
		}
		must[*mes.Outcome](t)(v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, dev, mes.Sign{Challenge: full("qa-3"), Reason: "redo is adequate"}))
		must[*mes.Outcome](t)(v.x.ReleaseHold(ctx, exception.By{CommandID: "unhold-1", Actor: "sv-1"}, exception.Hold{Target: exception.HoldBatch, ID: batch, Reason: "deviation closed", Exception: dev}))

		// Weighed again, in tolerance, and verified by a second person.
		v.exec(t, weighing("s10-c3", "12.49"))
		if _, err := v.e.Execute(ctx, mes.Request{ID: "s10-v0", Model: weigh, Subject: batch, Step: "S10", Command: mes.CmdVerify, Actor: "op-7",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("op-7")}}}); !hasDenialCode(err, mes.CodeSignatureSelf) {
			t.Errorf("self-verification: %v; want %s", err, mes.CodeSignatureSelf)
		}
		v.exec(t, mes.Request{ID: "s10-v1", Model: weigh, Subject: batch, Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}})
		for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
			v.exec(t, mes.Request{ID: "s20-" + string(c), Model: plain, Subject: batch, Step: "S20", Command: c, Actor: "op-7"})
		}
		v.exec(t, mes.Request{ID: "s20-v1", Model: plain, Subject: batch, Step: "S20", Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}})
		v.exec(t, mes.Request{ID: "complete", Model: v.batch, Subject: batch, Command: mes.CmdComplete, Actor: "op-7",
			Produce: []mes.Production{{Lot: "FG-42", Material: "TAB-500", Quantity: decimalOf(t, "12.40"), Unit: "kg"}}})

		// Reconciliation at completion: the issue balances, the yield is in range.
		in, made, err := release.FlowOf(v.load(t, batch), batch)
		if err != nil || len(in) != 1 || len(made) != 1 {
			t.Fatalf("flow %+v %+v, %v; want L7 in and FG-42 out", in, made, err)
		}
		rec, dev2, err := release.ReconcileBatch(ctx, v.x, release.BatchReconciliation{CommandID: "reconcile-1", Actor: "op-7", Batch: batch,
			Input: release.ReconcileInput{
				Materials: []release.MaterialBalance{{Material: "API-100", Unit: "kg", Issued: decimalOf(t, "12.50"), Consumed: in[0].Quantity,
					Returned: decimalOf(t, "0.01"), Tolerance: decimalOf(t, "0.005")}},
				Yield: &route.YieldCheck{Expected: decimalOf(t, "12.50"), Actual: made[0].Quantity, Unit: "kg", Range: route.Range{Min: decimalOf(t, "98"), Max: decimalOf(t, "101")}},
			}, Consequence: exception.ConsequenceNone})
		if err != nil || !rec.Balanced() || dev2 != nil || !rec.Yield.Percent.Equal(decimalOf(t, "99.2")) {
			t.Fatalf("reconciliation %+v, %+v, %v; want it balanced at 99.2%%", rec, dev2, err)
		}
		if v := readiness(); !v.Ready || len(v.Blocking) != 0 {
			t.Fatalf("readiness %+v; want ready", v)
		}

		// QA release: refused to someone who took part, granted to one who did not.
		_, err = v.e.Execute(ctx, mes.Request{ID: "qa-release-0", Model: releaseModel, Subject: batch, Command: mes.CmdRelease, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: mes.MeaningApproved, Challenge: full("qa-3")}}})
		if !hasDenialCode(err, mes.CodeSignatureSelf) {
			t.Errorf("release by the verifier: %v; want %s", err, mes.CodeSignatureSelf)
		}
		out, err = v.e.Execute(ctx, mes.Request{ID: "qa-release-1", Model: releaseModel, Subject: batch, Command: mes.CmdRelease, Actor: "qa-5",
			Signatures: []mes.Sign{{Meaning: mes.MeaningApproved, Challenge: full("qa-5"), Reason: "batch record reviewed"}}})
		if err != nil || out.To != release.Released || out.Signatures[0].Manifestation.PrintedName != "Person qa-5" {
			t.Fatalf("release: %+v, %v", out, err)
		}

		// The record: every step in order, by whom, every signature valid,
		// the chain intact.
		type entry struct{ Type, Actor string }
		var got []entry
		for _, r := range v.load(t, batch) {
			got = append(got, entry{r.Type, r.Actor})
		}
		want := []entry{
			{"batch.released", "sv-1"}, {"batch.started", "op-7"}, {"step.started", "op-7"},
			{event.Denied, "op-7"}, {event.ExceptionOpened, "op-7"}, {"batch.held", "op-7"}, {event.Denied, "op-7"},
			{event.ExceptionClosed, "qa-3"}, {"batch.restarted", "sv-1"},
			{"step.completed", "op-7"}, {event.Denied, "op-7"}, {"step.verified", "qa-3"}, {event.SignatureApplied, "qa-3"},
			{"step.started", "op-7"}, {"step.completed", "op-7"}, {"step.verified", "qa-3"}, {event.SignatureApplied, "qa-3"},
			{"batch.completed", "op-7"}, {event.Denied, "qa-3"}, {event.BatchQAReleased, "qa-5"}, {event.SignatureApplied, "qa-5"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("batch record (-want +got):\n%s", d)
		}
		for _, stream := range []string{batch, event.ExceptionStream(dev)} {
			for _, c := range mes.VerifySignatures(v.load(t, stream), v.pub) {
				if c.Err != nil {
					t.Errorf("%s v%d: %v", stream, c.Record.Version, c.Err)
				}
			}
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// TestReleaseDeniedWithOpenException: a batch with an open deviation is not
// released; the denied attempt names the deviation; once the deviation is
// closed the release goes through.
func TestReleaseDeniedWithOpenException(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		releaseModel := must[*mes.Model](t)(release.Model(nil, []string{"qa"}))
		v.startBatch(t, "batch-B42")
		v.exec(t, mes.Request{ID: "complete", Model: v.batch, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7"})
		v.dispositioned(t, "DEV-1", "op-7", "qa-4", exception.DispositionUseAsIs)
		releaseReq := func(id string) mes.Request {
			return mes.Request{ID: id, Model: releaseModel, Subject: "batch-B42", Command: mes.CmdRelease, Actor: "qa-5",
				Signatures: []mes.Sign{{Meaning: mes.MeaningApproved, Challenge: full("qa-5")}}}
		}
		out, err := v.e.Execute(ctx, releaseReq("rel-1"))
		var de *mes.DeniedError
		if !errors.As(err, &de) || len(de.Reasons) != 1 || de.Reasons[0].Code != release.CodeExceptionOpen ||
			de.Reasons[0].Gate != "release-ready" || !strings.Contains(de.Reasons[0].Message, "DEV-1") {
			t.Fatalf("release with DEV-1 open: %v; want one release-ready reason naming DEV-1", err)
		}
		last := lastRecord(v.load(t, "batch-B42"))
		if last.Type != event.Denied || last.Actor != "qa-5" || !hasCode(reasonsOf(t, last), release.CodeExceptionOpen) || out.To != release.Pending {
			t.Errorf("last record %s by %s, outcome %s; want the denied release on the record", last.Type, last.Actor, out.To)
		}
		if n := len(mes.VerifySignatures(v.load(t, "batch-B42"), v.pub)); n != 0 {
			t.Errorf("a denied release left %d signatures", n)
		}
		must[*mes.Outcome](t)(v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, "DEV-1", mes.Sign{Challenge: full("qa-3")}))
		if out, err := v.e.Execute(ctx, releaseReq("rel-2")); err != nil || out.To != release.Released {
			t.Fatalf("release with DEV-1 closed: %+v, %v", out, err)
		}
	})
}

// TestReadinessBlockers lists everything that blocks a release at once, in
// its order, and the gate refuses facts that are not the engine's.
func TestReadinessBlockers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	unsigned := must[*mes.Model](t)(mes.NewModel("unsigned-step", 1).States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started")).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed")).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified")).Build())
	plain := must[*mes.Model](t)(lifecycle.Step())
	const b = "batch-B42"
	v.startBatch(t, b)
	for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete, mes.CmdVerify} {
		v.exec(t, mes.Request{ID: "s10-" + string(c), Model: unsigned, Subject: b, Step: "S10", Command: c, Actor: "op-7"})
	}
	v.exec(t, mes.Request{ID: "s20-start", Model: plain, Subject: b, Step: "S20", Command: mes.CmdStart, Actor: "op-7"})
	v.exec(t, mes.Request{ID: "s20-complete", Model: plain, Subject: b, Step: "S20", Command: mes.CmdComplete, Actor: "op-7",
		Data: json.RawMessage(`{"containers":4}`), Consume: []event.Consumption{{Lot: "L7", Quantity: decimalOf(t, "2"), Unit: "kg"}}})
	completed := lastRecord(v.load(t, b)).Version
	v.exec(t, mes.Request{ID: "s30-start", Model: plain, Subject: b, Step: "S30", Command: mes.CmdStart, Actor: "op-7"})
	must[*exception.Opened](t)(v.x.Open(ctx, exception.By{CommandID: "open-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "label misprint", Subject: b}))
	must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-L7", Actor: "qa-3"}, exception.Hold{Target: exception.HoldLot, ID: "L7", Reason: "supplier complaint"}))
	cm := must[*correction.Model](t)(correction.NewModel(correction.Policy{Roles: []string{"supervisor"}, ReviewerRoles: []string{"qa"}}))
	corr := must[*mes.Outcome](t)(correction.Correct(ctx, v.e, correction.Correction{ID: "corr-1", Model: cm, Subject: b, Corrects: completed, Name: "containers",
		New: correction.JSONValue(json.RawMessage(`5`)), Reason: "miscounted", Actor: "sv-1"}))

	cfg := &release.Config{Steps: []release.RequiredStep{{ID: "S10", Verify: true}, {ID: "S20", Verify: true}, {ID: "S30"}, {ID: "S40"}}}
	got := must[*release.Verdict](t)(release.Readiness(ctx, v.s, b, cfg))
	s10Verified := int64(0)
	for _, r := range v.load(t, b) {
		if r.Type == "step.verified" {
			s10Verified = r.Version
		}
	}
	want := &release.Verdict{Blocking: []release.Blocker{
		{Code: release.CodeBatchState, Message: `batch-B42 is "in-progress"; release needs it [complete verified closed]`},
		{Code: release.CodeVerificationMissing, Ref: "S20", Message: `step S20 of batch-B42 is "complete" and needs a verification by a second person`},
		{Code: release.CodeStepNotDone, Ref: "S30", Message: `step S30 of batch-B42 is "in-progress", not done`},
		{Code: release.CodeStepNotDone, Ref: "S40", Message: `step S40 of batch-B42 has not been started`},
		{Code: release.CodeVerificationUnsigned, Ref: "S10", Version: s10Verified,
			Message: `the verification of step S10 at batch-B42 v` + strconv.FormatInt(s10Verified, 10) + ` carries no valid signature meaning "verified"`},
		{Code: release.CodeExceptionOpen, Ref: "DEV-1", Message: "deviation DEV-1 is open on batch-B42: label misprint"},
		{Code: release.CodeCorrectionUnreviewed, Ref: "containers", Version: corr.Records[0].Version,
			Message: "the correction of containers at batch-B42 v" + strconv.FormatInt(corr.Records[0].Version, 10) + " (miscounted) has not been reviewed"},
		{Code: release.CodeLotOnHold, Ref: "L7", Message: "lot L7, which batch-B42 used or made, is on hold: supplier complaint"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("readiness (-want +got):\n%s", d)
	}
	// A held batch says so.
	must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-b", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: b, Reason: "lab result pending"}))
	got = must[*release.Verdict](t)(release.Readiness(ctx, v.s, b, cfg))
	if got.Ready || got.Blocking[0].Code != release.CodeBatchHeld {
		t.Errorf("first blocker %+v; want the hold", got.Blocking[0])
	}
	// The gate judges only with the engine's facts.
	g := must[gate.Gate](t)(release.Ready(nil))
	if _, err := g.Check(ctx, &gate.Attempt{Subject: b}, nil); err == nil {
		t.Error("the readiness gate evaluated without the engine's facts")
	}
	for name, c := range map[string]*release.Config{
		"unknown releasable state": {Releasable: []mes.State{"shipped"}},
		"step required twice":      {Steps: []release.RequiredStep{{ID: "S10"}, {ID: "S10"}}},
		"step without id":          {Steps: []release.RequiredStep{{}}},
		"short key":                {Key: ed25519.PublicKey{1, 2, 3}},
	} {
		if _, err := release.Readiness(ctx, v.s, b, c); !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s: %v; want an invalid configuration", name, err)
		}
	}
	if _, err := release.Model(nil, nil); err == nil {
		t.Error("ReleaseModel without QA roles")
	}
}

// TestReadinessSignatures: with the system key, a verification whose
// signature does not verify is both an invalid signature and an unsigned
// verification.
func TestReadinessSignatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	m := verifyModel(t, 1)
	v.completeStep(t, m, "batch-B42")
	v.exec(t, mes.Request{ID: "v1", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
		Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}})
	cfg := &release.Config{Releasable: []mes.State{lifecycle.BatchPlanned}, Steps: []release.RequiredStep{{ID: "S10", Verify: true}}, Key: v.pub}
	if got := must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", cfg)); !got.Ready {
		t.Fatalf("readiness with the right key: %+v", got)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	cfg.Key = other
	got := must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", cfg))
	if d := cmp.Diff([]string{string(release.CodeSignatureInvalid) + " ", string(release.CodeVerificationUnsigned) + " S10"}, codesOf(got.Blocking)); d != "" {
		t.Errorf("blockers with another key (-want +got):\n%s", d)
	}
	// With the trail's keys: the system key in force verifies; the same
	// key retired (another in force) before the signing does not.
	long := now.Add(-24 * time.Hour)
	cfg.Key = nil
	cfg.SigningKeys = []mes.SigningKey{{Public: v.pub, Since: long}}
	if got := must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", cfg)); !got.Ready {
		t.Fatalf("readiness with the key in force: %+v", got)
	}
	cfg.SigningKeys = append(cfg.SigningKeys, mes.SigningKey{Public: other, Since: long.Add(time.Hour)})
	got = must[*release.Verdict](t)(release.Readiness(ctx, v.s, "batch-B42", cfg))
	if d := cmp.Diff([]string{string(release.CodeSignatureInvalid) + " ", string(release.CodeVerificationUnsigned) + " S10"}, codesOf(got.Blocking)); d != "" {
		t.Errorf("blockers with the system key retired (-want +got):\n%s", d)
	}
	for name, bad := range map[string]*release.Config{
		"both":  {Key: v.pub, SigningKeys: cfg.SigningKeys},
		"empty": {SigningKeys: []mes.SigningKey{}},
		"short": {SigningKeys: []mes.SigningKey{{Public: v.pub[:5]}}},
	} {
		if _, err := release.Readiness(ctx, v.s, "batch-B42", bad); err == nil {
			t.Errorf("%s signing keys: accepted", name)
		}
	}
}
