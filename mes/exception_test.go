package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// excEnv is an engine with a Signer over the plant, more people, the
// standard batch lifecycle and Exceptions with their defaults. op-7 runs
// batches; qa-3, qa-4 and qa-5 hold "qa"; sv-1 holds "supervisor".
type excEnv struct {
	*signing
	x     *exception.Service
	batch *mes.Model
}

func newExcEnv(tb testing.TB, s storage.Store) *excEnv {
	tb.Helper()
	sg := newSigning(tb, s, "op-7", "qa-3", "qa-4", "qa-5", "sv-1")
	for _, p := range []struct{ id, name, role string }{
		{"qa-4", "Quinn QA", "qa"}, {"qa-5", "Rae Release", "qa"}, {"sv-1", "Sam Supervisor", "supervisor"},
	} {
		sg.facts.run("person", event.PersonStream(p.id), mes.CmdRegister, map[string]string{"name": p.name})
		sg.facts.run("person", event.PersonStream(p.id), mes.CmdGrantRole, map[string]string{"role": p.role})
	}
	return &excEnv{signing: sg, x: must[*exception.Service](tb)(exception.New(sg.e, nil)), batch: must[*mes.Model](tb)(lifecycle.Batch())}
}

func (v *excEnv) exec(tb testing.TB, req mes.Request) *mes.Outcome {
	tb.Helper()
	out, err := v.e.Execute(context.Background(), req)
	if err != nil {
		tb.Fatalf("%s %s %s: %v", req.Command, req.Subject, req.Step, err)
	}
	return out
}

// startBatch releases batch to the floor (sv-1) and starts it (op-7).
func (v *excEnv) startBatch(tb testing.TB, batch string) {
	tb.Helper()
	v.exec(tb, mes.Request{ID: batch + "-release", Model: v.batch, Subject: batch, Command: mes.CmdRelease, Actor: "sv-1"})
	v.exec(tb, mes.Request{ID: batch + "-start", Model: v.batch, Subject: batch, Command: mes.CmdStart, Actor: "op-7"})
}

func (v *excEnv) load(tb testing.TB, stream string) []audit.Record {
	tb.Helper()
	recs, err := v.s.Load(context.Background(), stream, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

func (v *excEnv) state(tb testing.TB, m *mes.Model, subject, step string) mes.State {
	tb.Helper()
	return must[mes.State](tb)(mes.Fold(m, step, v.load(tb, subject)))
}

// openIDs lists the exceptions open on subject, as gates see them.
func (v *excEnv) openIDs(tb testing.TB, subject string) []string {
	tb.Helper()
	open, err := mes.NewFacts(v.s, "", nil).OpenExceptions(context.Background(), subject)
	if err != nil {
		tb.Fatal(err)
	}
	ids := []string{}
	for _, o := range open {
		ids = append(ids, o.ID)
	}
	return ids
}

// dispositioned opens exception id on batch-B42 by opener and dispositions
// it by dispositioner with decision.
func (v *excEnv) dispositioned(tb testing.TB, id, opener, dispositioner string, decision exception.DispositionKind) {
	tb.Helper()
	ctx := context.Background()
	if _, err := v.x.Open(ctx, exception.By{CommandID: "open-" + id, Actor: opener}, exception.Deviation{ID: id, Summary: "label misprint", Subject: "batch-B42"}); err != nil {
		tb.Fatalf("open %s: %v", id, err)
	}
	if _, err := v.x.Disposition(ctx, exception.By{CommandID: "disp-" + id, Actor: dispositioner}, id, exception.Disposition{Decision: decision, Rationale: "reprint the labels"}); err != nil {
		tb.Fatalf("disposition %s: %v", id, err)
	}
}

func lastRecord(recs []audit.Record) audit.Record { return recs[len(recs)-1] }

func reasonsOf(tb testing.TB, r audit.Record) []gate.Reason {
	tb.Helper()
	var p event.Transition
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		tb.Fatal(err)
	}
	return p.Reasons
}

// TestExceptionLifecycle: a deviation opened by a person blocks the batch;
// it is dispositioned, approved by a second person with an e-signature and
// closed; the batch's record carries both markers, gates see it open and
// then closed, and the batch resumes.
func TestExceptionLifecycle(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		v.startBatch(t, "batch-B42")
		photo := gate.Evidence{Name: "photo", Identity: "IMG-0042", Source: gate.SourceScanner, Instrument: "CAM-2"}
		opened, err := v.x.Open(ctx, exception.By{CommandID: "dev-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "powder spilled at the mixer",
			Subject: "batch-B42", Consequence: exception.ConsequenceBlock, Evidence: []gate.Evidence{photo}, Refs: map[string]string{"equipment": "MX-1"}})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		recs := opened.Exception.Records
		if len(recs) != 2 || recs[0].Stream != event.ExceptionStream("DEV-1") || recs[0].Type != event.ExceptionOpened ||
			recs[1].Stream != "batch-B42" || recs[1].Type != event.ExceptionOpened {
			t.Fatalf("opening records %+v: want the exception's own and the marker on the batch", recs)
		}
		if !strings.Contains(string(recs[0].Evidence), "IMG-0042") {
			t.Errorf("the opening's evidence %s lacks the photo", recs[0].Evidence)
		}
		if opened.Consequence == nil || opened.Consequence.To != lifecycle.BatchBlocked || opened.NotApplied != "" {
			t.Fatalf("consequence %+v (%q): want the batch blocked", opened.Consequence, opened.NotApplied)
		}
		if got := v.openIDs(t, "batch-B42"); !slices.Equal(got, []string{"DEV-1"}) {
			t.Errorf("open exceptions %v; want DEV-1", got)
		}
		if _, err := v.x.Disposition(ctx, exception.By{CommandID: "disp-1", Actor: "qa-4"}, "DEV-1", exception.Disposition{Decision: exception.DispositionUseAsIs,
			Rationale: "spill outside the product path; cleaned", CAPA: "CAPA-2026-017"}); err != nil {
			t.Fatalf("disposition: %v", err)
		}
		approved, err := v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, "DEV-1", mes.Sign{Challenge: full("qa-3"), Reason: "cleaning verified"})
		if err != nil {
			t.Fatalf("approve: %v", err)
		}
		if len(approved.Records) != 3 || approved.Records[1].Type != event.SignatureApplied || approved.Records[2].Stream != "batch-B42" ||
			approved.Records[2].Type != event.ExceptionClosed || approved.To != exception.StateClosed {
			t.Fatalf("approval records %+v: want the approval, its signature and the closing marker on the batch", approved.Records)
		}
		got, err := v.x.Get(ctx, "DEV-1")
		if err != nil {
			t.Fatal(err)
		}
		want := &exception.Exception{ID: "DEV-1", Kind: exception.KindDeviation, Summary: "powder spilled at the mixer", Subject: "batch-B42",
			Source: exception.SourcePerson, Consequence: exception.ConsequenceBlock, State: exception.StateClosed, OpenedBy: "op-7", Opened: now,
			Disposition:     &exception.Disposition{Decision: exception.DispositionUseAsIs, Rationale: "spill outside the product path; cleaned", CAPA: "CAPA-2026-017"},
			DispositionedBy: "qa-4", CAPA: []string{"CAPA-2026-017"}, ApprovedBy: "qa-3", Approved: now}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("exception (-want +got):\n%s", d)
		}
		if got := v.openIDs(t, "batch-B42"); len(got) != 0 {
			t.Errorf("open exceptions after closing: %v", got)
		}
		if st := v.state(t, v.batch, "batch-B42", ""); st != lifecycle.BatchBlocked {
			t.Errorf("batch %s after closing; it stays blocked until a person resumes it", st)
		}
		resumed, err := v.x.Resume(ctx, exception.By{CommandID: "resume-1", Actor: "sv-1"}, "DEV-1")
		if err != nil || resumed.To != lifecycle.BatchInProgress {
			t.Fatalf("resume: %+v, %v", resumed, err)
		}
		// Submitting the approval again replays it.
		again, err := v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, "DEV-1", mes.Sign{Challenge: full("qa-3")})
		if err != nil || !again.Replayed {
			t.Errorf("approval again: %+v, %v; want it replayed", again, err)
		}
		if c := mes.VerifySignatures(v.load(t, event.ExceptionStream("DEV-1")), v.pub); len(c) != 1 || c[0].Err != nil {
			t.Errorf("signatures of DEV-1: %+v", c)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// TestExceptionSelfApprovalDenied: whoever opened or dispositioned an
// exception may not approve it; the attempt is denied, recorded on the
// exception's stream, and the exception stays open on the batch.
func TestExceptionSelfApprovalDenied(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, opener, dispositioner, approver string
	}{
		{"approving one's own disposition", "op-7", "qa-4", "qa-4"},
		{"approving what one opened", "qa-5", "qa-4", "qa-5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
			v.dispositioned(t, "DEV-1", tc.opener, tc.dispositioner, exception.DispositionRework)
			batchBefore := len(v.load(t, "batch-B42"))
			out, err := v.x.Approve(ctx, exception.By{CommandID: "appr", Actor: tc.approver}, "DEV-1", mes.Sign{Challenge: full(tc.approver)})
			var de *mes.DeniedError
			if !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeSignatureSelf) || len(de.Reasons) != 1 {
				t.Fatalf("approve: %v; want a denial for self-approval alone", err)
			}
			if out == nil || out.To != exception.StateDispositioned {
				t.Errorf("outcome %+v; want the exception left dispositioned", out)
			}
			last := lastRecord(v.load(t, event.ExceptionStream("DEV-1")))
			if last.Type != event.Denied || last.Actor != tc.approver || !hasCode(reasonsOf(t, last), mes.CodeSignatureSelf) {
				t.Errorf("last record of the exception %s by %s; want the denied self-approval", last.Type, last.Actor)
			}
			if n := len(v.load(t, "batch-B42")); n != batchBefore {
				t.Errorf("the batch gained %d records on a denied approval", n-batchBefore)
			}
			if got := v.openIDs(t, "batch-B42"); !slices.Equal(got, []string{"DEV-1"}) {
				t.Errorf("open exceptions %v; want DEV-1 still open", got)
			}
		})
	}
}

// TestExceptionClosesOnlyWhenDispositioned: an open exception cannot be
// approved; a rejected disposition reopens it; an investigation needs a
// CAPA reference before approval.
func TestExceptionClosesOnlyWhenDispositioned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	if _, err := v.x.Open(ctx, exception.By{CommandID: "open-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "seal broken", Subject: "batch-B42"}); err != nil {
		t.Fatal(err)
	}
	_, err := v.x.Approve(ctx, exception.By{CommandID: "appr-0", Actor: "qa-3"}, "DEV-1", mes.Sign{Challenge: full("qa-3")})
	if !errors.Is(err, mes.ErrIllegalTransition) {
		t.Fatalf("approving an undispositioned exception: %v; want an illegal transition", err)
	}
	if last := lastRecord(v.load(t, event.ExceptionStream("DEV-1"))); last.Type != event.Denied {
		t.Errorf("last record %s; want the denied approval on the record", last.Type)
	}
	// A rejected disposition: the exception is open again.
	must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-1", Actor: "qa-4"}, "DEV-1", exception.Disposition{Decision: exception.DispositionScrap, Rationale: "seal broken"}))
	if _, err := v.x.Reject(ctx, exception.By{CommandID: "rej-0", Actor: "op-7"}, "DEV-1", "scrap is excessive"); !hasDenialCode(err, gate.CodeRoleMissing) {
		t.Errorf("reject by an operator: %v; want role.missing", err)
	}
	must[*mes.Outcome](t)(v.x.Reject(ctx, exception.By{CommandID: "rej-1", Actor: "qa-3"}, "DEV-1", "scrap is excessive; the inner bag is intact"))
	got := must[*exception.Exception](t)(v.x.Get(ctx, "DEV-1"))
	if got.State != exception.StateOpen || got.Disposition != nil || got.Rejected != 1 {
		t.Errorf("after rejection %+v; want open, no disposition, one rejection", got)
	}
	// An investigation is not approved without a CAPA reference.
	must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-2", Actor: "qa-4"}, "DEV-1", exception.Disposition{Decision: exception.DispositionInvestigate, Rationale: "find why seals break"}))
	if _, err := v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-5"}, "DEV-1", mes.Sign{Challenge: full("qa-5")}); !hasDenialCode(err, exception.CodeCAPAMissing) {
		t.Fatalf("approving an investigation without CAPA: %v; want %s", err, exception.CodeCAPAMissing)
	}
	must[*mes.Outcome](t)(v.x.AttachCAPA(ctx, exception.By{CommandID: "capa-1", Actor: "qa-4"}, "DEV-1", "CAPA-2026-021"))
	if _, err := v.x.Approve(ctx, exception.By{CommandID: "appr-2", Actor: "qa-5"}, "DEV-1", mes.Sign{Challenge: full("qa-5")}); err != nil {
		t.Fatalf("approving with CAPA: %v", err)
	}
	// A CAPA reference can still be attached once closed.
	must[*mes.Outcome](t)(v.x.AttachCAPA(ctx, exception.By{CommandID: "capa-2", Actor: "qa-4"}, "DEV-1", "CAPA-2026-022"))
	got = must[*exception.Exception](t)(v.x.Get(ctx, "DEV-1"))
	if got.State != exception.StateClosed || !slices.Equal(got.CAPA, []string{"CAPA-2026-021", "CAPA-2026-022"}) || got.ApprovedBy != "qa-5" {
		t.Errorf("closed exception %+v", got)
	}
	// Nothing more can be decided on a closed exception.
	if _, err := v.x.Disposition(ctx, exception.By{CommandID: "disp-3", Actor: "qa-4"}, "DEV-1", exception.Disposition{Decision: exception.DispositionRedo, Rationale: "again"}); !errors.Is(err, mes.ErrIllegalTransition) {
		t.Errorf("disposition of a closed exception: %v; want an illegal transition", err)
	}
}

func hasDenialCode(err error, code gate.Code) bool {
	var de *mes.DeniedError
	return errors.As(err, &de) && hasCode(de.Reasons, code)
}

// TestExceptionInputErrors: malformed input is refused with
// ErrInvalidException and nothing is recorded.
func TestExceptionInputErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	ok := exception.Deviation{ID: "DEV-9", Summary: "s", Subject: "batch-B42"}
	with := func(f func(d *exception.Deviation)) exception.Deviation { d := ok; f(&d); return d }
	for name, d := range map[string]exception.Deviation{
		"no id":               with(func(d *exception.Deviation) { d.ID = "" }),
		"no summary":          with(func(d *exception.Deviation) { d.Summary = "" }),
		"no subject":          with(func(d *exception.Deviation) { d.Subject = "" }),
		"exception subject":   with(func(d *exception.Deviation) { d.Subject = event.ExceptionStream("DEV-8") }),
		"override source":     with(func(d *exception.Deviation) { d.Source = exception.SourceOverride }),
		"unknown consequence": with(func(d *exception.Deviation) { d.Consequence = "stop" }),
		"details not object":  with(func(d *exception.Deviation) { d.Details = json.RawMessage(`[1]`) }),
	} {
		if _, err := v.x.Open(ctx, exception.By{CommandID: "o-" + name, Actor: "op-7"}, d); !errors.Is(err, exception.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalidException", name, err)
		}
	}
	for name, d := range map[string]exception.Disposition{
		"unknown decision":         {Decision: "ignore", Rationale: "r"},
		"no rationale":             {Decision: exception.DispositionRedo},
		"substitution without lot": {Decision: exception.DispositionSubstitute, Rationale: "r"},
		"substitute on a redo":     {Decision: exception.DispositionRedo, Rationale: "r", Substitute: "L8"},
	} {
		if _, err := v.x.Disposition(ctx, exception.By{CommandID: "d-" + name, Actor: "qa-4"}, "DEV-9", d); !errors.Is(err, exception.ErrInvalid) {
			t.Errorf("disposition %s: %v; want ErrInvalidException", name, err)
		}
	}
	if _, err := v.x.Reject(ctx, exception.By{CommandID: "r", Actor: "qa-3"}, "DEV-9", ""); !errors.Is(err, exception.ErrInvalid) {
		t.Errorf("reject without reason: %v", err)
	}
	if _, err := v.x.AttachCAPA(ctx, exception.By{CommandID: "c", Actor: "qa-3"}, "DEV-9", ""); !errors.Is(err, exception.ErrInvalid) {
		t.Errorf("empty CAPA: %v", err)
	}
	for name, h := range map[string]exception.Hold{
		"no target": {ID: "L7", Reason: "r"}, "no id": {Target: exception.HoldLot, Reason: "r"}, "no reason": {Target: exception.HoldLot, ID: "L7"},
	} {
		if _, err := v.x.PlaceHold(ctx, exception.By{CommandID: "h-" + name, Actor: "qa-3"}, h); !errors.Is(err, exception.ErrInvalid) {
			t.Errorf("hold %s: %v; want ErrInvalidException", name, err)
		}
	}
	if _, err := v.x.Apply(ctx, exception.Rule{Name: "x"}, mes.Request{}, nil, nil); !errors.Is(err, exception.ErrInvalid) {
		t.Errorf("rule without codes: %v", err)
	}
	if _, err := v.x.Approve(ctx, exception.By{CommandID: "a", Actor: "qa-3"}, "DEV-9", mes.Sign{Challenge: full("qa-3")}); !errors.Is(err, exception.ErrNotFound) {
		t.Errorf("approving an unknown exception: %v; want ErrExceptionNotFound", err)
	}
	for _, stream := range []string{event.ExceptionStream("DEV-9"), "batch-B42"} {
		if n := len(v.load(t, stream)); n != 0 {
			t.Errorf("%s holds %d records after refused input", stream, n)
		}
	}
	if _, err := exception.New(v.e, &exception.Config{Model: v.batch}); err == nil {
		t.Error("NewExceptions took the batch lifecycle as its exception model")
	}
	unmirrored := must[*mes.Model](t)(mes.NewModel(exception.ModelName, exception.ModelVersion).
		States(exception.StateNew, exception.StateOpen, exception.StateDispositioned, exception.StateClosed).
		Initial(exception.StateNew).Final(exception.StateClosed).
		Permit(exception.StateNew, exception.CmdOpen, exception.StateOpen, mes.Recording(event.ExceptionOpened)).
		Permit(exception.StateOpen, exception.CmdDisposition, exception.StateDispositioned, mes.Recording(event.ExceptionDispositioned)).
		Permit(exception.StateDispositioned, exception.CmdReject, exception.StateOpen, mes.Recording(event.ExceptionRejected)).
		Permit(exception.StateDispositioned, exception.CmdApprove, exception.StateClosed, mes.Recording(event.ExceptionApproved),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: mes.MeaningApproved, Count: 1, NotPerformer: true})).
		Permit(exception.StateOpen, exception.CmdAttachCAPA, exception.StateOpen, mes.Recording(event.ExceptionCAPA)).
		Build())
	if _, err := exception.New(v.e, &exception.Config{Model: unmirrored}); err == nil || !strings.Contains(err.Error(), "mirrored") {
		t.Errorf("New took an exception model that does not mirror its opening onto the subject: %v", err)
	}
	if _, err := exception.Model(nil); err == nil {
		t.Error("ExceptionModel without approver roles")
	}
}

// TestHolds: a hold on a lot, on equipment or on a batch blocks what reads
// it until a person releases it; each is a gated transition of the thing.
func TestHolds(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		w := newWeighing(t)
		start := func(id string) error {
			_, err := v.e.Execute(ctx, mes.Request{ID: id, Model: w.weigh, Subject: "batch-" + id, Step: "S10", Command: mes.CmdStart, Actor: "op-7",
				Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}})
			return err
		}
		must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-lot", Actor: "qa-3"}, exception.Hold{Target: exception.HoldLot, ID: "L7", Reason: "supplier complaint", Exception: "DEV-3"}))
		if err := start("B1"); !hasDenialCode(err, gate.CodeLotOnHold) {
			t.Errorf("start with the lot held: %v; want %s", err, gate.CodeLotOnHold)
		}
		must[*mes.Outcome](t)(v.x.ReleaseHold(ctx, exception.By{CommandID: "unhold-lot", Actor: "qa-3"}, exception.Hold{Target: exception.HoldLot, ID: "L7", Reason: "complaint unfounded"}))
		must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-scale", Actor: "sv-1"}, exception.Hold{Target: exception.HoldEquipment, ID: "SC-01", Reason: "drifting"}))
		if err := start("B2"); !hasDenialCode(err, gate.CodeEquipmentUnavailable) {
			t.Errorf("start with the scale held: %v; want %s", err, gate.CodeEquipmentUnavailable)
		}
		must[*mes.Outcome](t)(v.x.ReleaseHold(ctx, exception.By{CommandID: "unhold-scale", Actor: "sv-1"}, exception.Hold{Target: exception.HoldEquipment, ID: "SC-01", Reason: "recalibrated"}))
		if err := start("B3"); err != nil {
			t.Errorf("start with the holds released: %v", err)
		}
		v.startBatch(t, "batch-B42")
		must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-batch", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: "batch-B42", Reason: "pending lab result"}))
		if st := v.state(t, v.batch, "batch-B42", ""); st != lifecycle.BatchHeld {
			t.Errorf("batch %s; want held", st)
		}
		if _, err := v.x.PlaceHold(ctx, exception.By{CommandID: "hold-batch-2", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: "batch-B42", Reason: "again"}); !errors.Is(err, mes.ErrIllegalTransition) {
			t.Errorf("holding a held batch: %v; want an illegal transition", err)
		}
		must[*mes.Outcome](t)(v.x.ReleaseHold(ctx, exception.By{CommandID: "unhold-batch", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: "batch-B42", Reason: "result in"}))
		if st := v.state(t, v.batch, "batch-B42", ""); st != lifecycle.BatchInProgress {
			t.Errorf("batch %s; want in-progress", st)
		}
		held := v.load(t, event.LotStream("L7"))
		if r := held[len(held)-2]; r.Type != event.LotHeld || !strings.Contains(string(r.Payload), `"exception":"DEV-3"`) {
			t.Errorf("lot hold record %s %s; want it naming DEV-3", r.Type, r.Payload)
		}
	})
}

// TestExceptionRuleOutOfTolerance: an out-of-tolerance weighing is denied;
// the rule opens a deviation whose cause is the denied attempt and whose
// evidence is the weight, and holds the batch. Applying the rule again
// changes nothing; a denial for another reason opens nothing.
func TestExceptionRuleOutOfTolerance(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		w := newWeighing(t)
		v.startBatch(t, "batch-B42")
		refs := map[string]string{"lot": "L7", "scale": "SC-01"}
		v.exec(t, mes.Request{ID: "s10-start", Model: w.weigh, Subject: "batch-B42", Step: "S10", Command: mes.CmdStart, Actor: "op-7",
			Refs: refs, Evidence: []gate.Evidence{scan("L7")}})
		req := mes.Request{ID: "s10-c1", Model: w.weigh, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7",
			Refs: refs, Evidence: []gate.Evidence{weight(t, "12.61", gate.SourceDevice, true)}}
		out, denied := v.e.Execute(ctx, req)
		if !hasDenialCode(denied, gate.CodeAboveUpperLimit) {
			t.Fatalf("weighing 12.61: %v; want it denied above the limit", denied)
		}
		opened, err := v.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceHold), req, out, denied)
		if err != nil || opened == nil {
			t.Fatalf("apply: %+v, %v", opened, err)
		}
		if opened.Consequence == nil || opened.Consequence.To != lifecycle.BatchHeld {
			t.Errorf("consequence %+v (%q); want the batch held", opened.Consequence, opened.NotApplied)
		}
		x := must[*exception.Exception](t)(v.x.Get(ctx, "oot-s10-c1"))
		wantCause := &event.RecordRef{Stream: "batch-B42", Version: out.Records[0].Version}
		if x.Source != exception.SourceRule || x.Step != "S10" || x.OpenedBy != "op-7" || !cmp.Equal(x.Cause, wantCause) ||
			!strings.Contains(x.Summary, "above the upper limit") {
			t.Errorf("exception %+v; want a rule deviation on S10 caused by %v", x, wantCause)
		}
		if ev := v.load(t, event.ExceptionStream("oot-s10-c1"))[0].Evidence; !strings.Contains(string(ev), `"12.61"`) {
			t.Errorf("the deviation's evidence %s lacks the weight", ev)
		}
		if got := v.openIDs(t, "batch-B42"); !slices.Equal(got, []string{"oot-s10-c1"}) {
			t.Errorf("open exceptions %v", got)
		}
		n := len(v.load(t, "batch-B42"))
		again, err := v.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceHold), req, out, denied)
		if err != nil || again == nil || !again.Exception.Replayed || again.Consequence == nil || !again.Consequence.Replayed || len(v.load(t, "batch-B42")) != n {
			t.Errorf("applying again: %+v, %v; want both commands replayed and nothing new", again, err)
		}
		// A denial for another reason, and no denial at all, open nothing.
		other := req
		other.ID, other.Evidence = "s10-c2", []gate.Evidence{weight(t, "12.50", gate.SourceDevice, false)}
		out2, err2 := v.e.Execute(ctx, other)
		if !hasDenialCode(err2, gate.CodeUnstable) {
			t.Fatalf("unstable reading: %v", err2)
		}
		if o, err := v.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceHold), other, out2, err2); o != nil || err != nil {
			t.Errorf("rule on an unstable reading: %+v, %v; want nothing", o, err)
		}
		if o, err := v.x.Apply(ctx, exception.OutOfTolerance(exception.ConsequenceHold), other, nil, nil); o != nil || err != nil {
			t.Errorf("rule without a denial: %+v, %v; want nothing", o, err)
		}
	})
}

// TestExceptionStepBlock: a deviation on a step blocks the step; its
// operator resumes it once the deviation is closed, not before, and nobody
// else may.
func TestExceptionStepBlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	step := must[*mes.Model](t)(lifecycle.Step())
	v.exec(t, mes.Request{ID: "s10-start", Model: step, Subject: "batch-B42", Step: "S10", Command: mes.CmdStart, Actor: "op-7"})
	opened, err := v.x.Open(ctx, exception.By{CommandID: "open-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "wrong container", Subject: "batch-B42", Step: "S10",
		Source: exception.SourceDevice, Consequence: exception.ConsequenceBlock})
	if err != nil || opened.Consequence == nil || opened.Consequence.To != lifecycle.StepBlocked {
		t.Fatalf("open: %+v, %v; want the step blocked", opened, err)
	}
	if _, err := v.e.Execute(ctx, mes.Request{ID: "s10-complete", Model: step, Subject: "batch-B42", Step: "S10", Command: mes.CmdComplete, Actor: "op-7"}); !errors.Is(err, mes.ErrIllegalTransition) {
		t.Errorf("completing a blocked step: %v", err)
	}
	if _, err := v.x.Resume(ctx, exception.By{CommandID: "resume-0", Actor: "op-7"}, "DEV-1"); !errors.Is(err, exception.ErrNotResumable) {
		t.Errorf("resuming with the deviation open: %v; want ErrNotResumable", err)
	}
	must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-1", Actor: "qa-4"}, "DEV-1", exception.Disposition{Decision: exception.DispositionRedo, Rationale: "use the right container"}))
	must[*mes.Outcome](t)(v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, "DEV-1", mes.Sign{Challenge: full("qa-3")}))
	if _, err := v.x.Resume(ctx, exception.By{CommandID: "resume-1", Actor: "sv-1"}, "DEV-1"); !hasDenialCode(err, mes.CodeContextOperator) {
		t.Errorf("resume by another person: %v; want %s", err, mes.CodeContextOperator)
	}
	if out, err := v.x.Resume(ctx, exception.By{CommandID: "resume-2", Actor: "op-7"}, "DEV-1"); err != nil || out.To != lifecycle.StepInProgress {
		t.Fatalf("resume by the operator: %+v, %v", out, err)
	}
	if out, err := v.x.Resume(ctx, exception.By{CommandID: "resume-2", Actor: "op-7"}, "DEV-1"); err != nil || !out.Replayed {
		t.Errorf("resume again: %+v, %v; want it replayed", out, err)
	}
	if _, err := v.x.Resume(ctx, exception.By{CommandID: "resume-3", Actor: "op-7"}, "DEV-1"); !errors.Is(err, exception.ErrNotResumable) {
		t.Errorf("resuming a running step: %v; want ErrNotResumable", err)
	}
}

// TestExceptionConsequenceNotApplied: a consequence the subject's model
// does not permit in its state is not applied, and Opened says why; the
// deviation is open all the same.
func TestExceptionConsequenceNotApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	opened, err := v.x.Open(ctx, exception.By{CommandID: "open-1", Actor: "qa-3"}, exception.Deviation{ID: "DEV-1", Summary: "late", Subject: "batch-B42", Consequence: exception.ConsequenceHold})
	if err != nil || opened.Consequence != nil || !strings.Contains(opened.NotApplied, `"planned"`) {
		t.Fatalf("open on a planned batch: %+v, %v; want the hold not applied, saying the batch is planned", opened, err)
	}
	if got := v.openIDs(t, "batch-B42"); !slices.Equal(got, []string{"DEV-1"}) {
		t.Errorf("open exceptions %v", got)
	}
	if recs := v.load(t, "batch-B42"); len(recs) != 1 {
		t.Errorf("batch holds %d records; want the marker alone", len(recs))
	}
}

// TestExceptionOpenedByOverride: the deviation a gate override opens is
// dispositioned and approved like any other, which closes it on the batch.
func TestExceptionOpenedByOverride(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	v.facts.run("lot", event.LotStream("L7"), mes.CmdHold, map[string]string{"reason": "supplier complaint"})
	m := overridable(t, true)
	if _, err := v.e.Execute(ctx, mes.Request{ID: "start-1", Model: m, Subject: "batch-B42", Command: mes.CmdStart, Actor: "op-7",
		Refs: map[string]string{"lot": "L7"}, Evidence: []gate.Evidence{scan("L7")},
		Override: &mes.Override{Reason: "administrative hold", Sign: mes.Sign{Challenge: full("sv-1")}}}); err != nil {
		t.Fatalf("override: %v", err)
	}
	x := must[*exception.Exception](t)(v.x.Get(ctx, "override-start-1"))
	if x.Source != exception.SourceOverride || x.State != exception.StateOpen || x.Subject != "batch-B42" {
		t.Fatalf("override exception %+v", x)
	}
	must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-1", Actor: "qa-4"}, x.ID, exception.Disposition{Decision: exception.DispositionUseAsIs, Rationale: "hold lifted by QA"}))
	must[*mes.Outcome](t)(v.x.Approve(ctx, exception.By{CommandID: "appr-1", Actor: "qa-3"}, x.ID, mes.Sign{Challenge: full("qa-3")}))
	if got := v.openIDs(t, "batch-B42"); len(got) != 0 {
		t.Errorf("open exceptions %v; want none", got)
	}
	if _, err := v.e.Execute(ctx, mes.Request{ID: "complete-1", Model: m, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7"}); err != nil {
		t.Errorf("complete once the deviation is closed: %v", err)
	}
}

// TestExceptionMarkerRetried: when the subject moves between the read of
// its version and the append of the marker, the opening is submitted again
// and lands once, with its marker after what moved the subject.
func TestExceptionMarkerRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newExcEnv(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	var calls atomic.Int32
	interloper := gate.Func(func(ctx context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
		if calls.Add(1) == 1 {
			v.exec(t, mes.Request{ID: "release-B42", Model: v.batch, Subject: "batch-B42", Command: mes.CmdRelease, Actor: "sv-1"})
		}
		return gate.Pass(), nil
	})
	model := must[*mes.Model](t)(exception.Model([]string{"qa"}, mes.WithGates(interloper)))
	x := must[*exception.Service](t)(exception.New(v.e, &exception.Config{Model: model}))
	if _, err := x.Open(ctx, exception.By{CommandID: "open-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "s", Subject: "batch-B42"}); err != nil {
		t.Fatalf("open: %v", err)
	}
	var types []string
	for _, r := range v.load(t, "batch-B42") {
		types = append(types, r.Type)
	}
	if want := []string{"batch.released", event.ExceptionOpened}; !slices.Equal(types, want) {
		t.Errorf("batch records %v; want %v", types, want)
	}
	if n := len(v.load(t, event.ExceptionStream("DEV-1"))); n != 1 || calls.Load() < 2 {
		t.Errorf("exception stream holds %d records after %d evaluations; want one opening after a retry", n, calls.Load())
	}
}

// TestServiceTakesModelsFromARegistry: a service configured with one
// registry runs the registry's models, not the defaults.
func TestServiceTakesModelsFromARegistry(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	batch := must[*mes.Model](t)(mes.NewModel("batch", 7).States("a", "b").Initial("a").Final("b").Permit("a", "go", "b").Build())
	reg := must[*mes.Registry](t)(mes.NewRegistry(batch, must[*mes.Model](t)(exception.Model([]string{"qa"}))))
	x := must[*exception.Service](t)(exception.New(env.Engine, &exception.Config{Models: reg}))
	opened, err := x.Open(context.Background(), exception.By{CommandID: "open-r", Actor: "op-7"},
		exception.Deviation{ID: "DEV-R", Summary: "s", Subject: "batch-R", Consequence: exception.ConsequenceHold})
	// The registry's batch model (version 7) has no hold: the consequence
	// is not applied, and NotApplied names that model.
	if err != nil || opened == nil || opened.Consequence != nil || !strings.Contains(opened.NotApplied, "batch v7") {
		t.Fatalf("open with the registry's batch model: %+v, %v; want the hold not applied under batch v7", opened, err)
	}
}
