package mes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/release"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestBatchLifecycleOpenException shows, on both stores, that the standard
// batch lifecycle does not verify or close a batch while an exception is
// open on it (denied and recorded with gate.CodeExceptionOpen, the state
// unchanged), does once the exception is closed, and keeps hold, restart
// and abort usable while one is open.
func TestBatchLifecycleOpenException(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		v := newExcEnv(t, s)
		rr := &routeRun{t: t, sg: v.signing}
		verify := mes.Request{ID: "B1-verify", Model: v.batch, Subject: "batch-B1", Command: mes.CmdVerify, Actor: "qa-5",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-5")}}}
		closeB1 := mes.Request{ID: "B1-close", Model: v.batch, Subject: "batch-B1", Command: mes.CmdClose, Actor: "qa-5"}
		closeExc := func(id string) {
			t.Helper()
			must[*mes.Outcome](t)(v.x.Disposition(ctx, exception.By{CommandID: "disp-" + id, Actor: "qa-4"}, id, exception.Disposition{Decision: exception.DispositionUseAsIs, Rationale: "no impact"}))
			must[*mes.Outcome](t)(v.x.Approve(ctx, exception.By{CommandID: "appr-" + id, Actor: "qa-3"}, id, mes.Sign{Challenge: full("qa-3")}))
		}

		v.startBatch(t, "batch-B1")
		must[*exception.Opened](t)(v.x.Open(ctx, exception.By{CommandID: "open-DEV-1", Actor: "op-7"}, exception.Deviation{ID: "DEV-1", Summary: "label misprint", Subject: "batch-B1"}))
		// A deviation without a consequence lets production finish...
		v.exec(t, mes.Request{ID: "B1-complete", Model: v.batch, Subject: "batch-B1", Command: mes.CmdComplete, Actor: "op-7"})
		// ...but not its verification.
		rr.denied(verify, gate.CodeExceptionOpen)
		closeExc("DEV-1")
		verify.ID = "B1-verify-again" // the denied command stays denied; this is a new one
		if out := rr.ok(verify); out.To != lifecycle.BatchVerified {
			t.Fatalf("verify moved batch-B1 to %s", out.To)
		}
		must[*exception.Opened](t)(v.x.Open(ctx, exception.By{CommandID: "open-DEV-2", Actor: "qa-4"}, exception.Deviation{ID: "DEV-2", Summary: "record gap", Subject: "batch-B1"}))
		rr.denied(closeB1, gate.CodeExceptionOpen)
		closeExc("DEV-2")
		closeB1.ID = "B1-close-again"
		if out := rr.ok(closeB1); out.To != lifecycle.BatchClosed {
			t.Fatalf("close moved batch-B1 to %s", out.To)
		}

		// The ISA-88 paths stay open while an exception is.
		v.startBatch(t, "batch-B2")
		opened := must[*exception.Opened](t)(v.x.Open(ctx, exception.By{CommandID: "open-DEV-3", Actor: "qa-3"}, exception.Deviation{ID: "DEV-3", Summary: "pending lab result",
			Subject: "batch-B2", Consequence: exception.ConsequenceHold}))
		if opened.Consequence == nil || opened.Consequence.To != lifecycle.BatchHeld {
			t.Fatalf("hold consequence %+v (%s); want batch-B2 held", opened.Consequence, opened.NotApplied)
		}
		must[*mes.Outcome](t)(v.x.ReleaseHold(ctx, exception.By{CommandID: "restart-B2", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: "batch-B2", Reason: "result in"}))
		must[*mes.Outcome](t)(v.x.PlaceHold(ctx, exception.By{CommandID: "hold-B2", Actor: "qa-3"}, exception.Hold{Target: exception.HoldBatch, ID: "batch-B2", Reason: "second look", Exception: "DEV-3"}))
		if out := rr.ok(mes.Request{ID: "B2-abort", Model: v.batch, Subject: "batch-B2", Command: mes.CmdAbort, Actor: "sv-1"}); out.To != lifecycle.BatchAborted {
			t.Fatalf("abort moved batch-B2 to %s", out.To)
		}
		if ids := v.openIDs(t, "batch-B2"); len(ids) != 1 || ids[0] != "DEV-3" {
			t.Errorf("open on batch-B2: %v; want DEV-3 still open", ids)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// failingAppend fails the append with one idempotency key, as a crash or a
// lost connection between two appends would.
type failingAppend struct {
	storage.Store
	key string
}

var errInjected = errors.New("injected failure")

func (f *failingAppend) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	if req.IdempotencyKey == f.key {
		return storage.AppendResult{}, errInjected
	}
	return f.Store.Append(ctx, req)
}

// TestDeviationBlockWindow shows what the two appends of opening a
// blocking deviation leave when the second is lost: the exception is open
// and marked on the batch with its consequence, the batch is not blocked,
// and the marker alone keeps the batch from completing and from being
// released. Submitting the command again blocks the batch, once.
func TestDeviationBlockWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &failingAppend{Store: memory.New(&memory.Config{Clock: func() time.Time { return now }}), key: "command/open-DEV-1/block"}
	v := newExcEnv(t, s)
	v.startBatch(t, "batch-B1")
	dev := exception.Deviation{ID: "DEV-1", Summary: "foreign particle", Subject: "batch-B1", Consequence: exception.ConsequenceBlock}
	if _, err := v.x.Open(ctx, exception.By{CommandID: "open-DEV-1", Actor: "op-7"}, dev); !errors.Is(err, errInjected) {
		t.Fatalf("open with the block lost: %v; want the injected failure", err)
	}
	if ids := v.openIDs(t, "batch-B1"); len(ids) != 1 || ids[0] != "DEV-1" {
		t.Fatalf("open on batch-B1: %v; want DEV-1", ids)
	}
	if st := v.state(t, v.batch, "batch-B1", ""); st != lifecycle.BatchInProgress {
		t.Fatalf("batch-B1 is %s; want in-progress: the window this test is about", st)
	}
	// In the window the deviation's consequence already stops the batch:
	// it cannot complete (the marker says "block"), and its release path
	// is closed.
	_, err := v.e.Execute(ctx, mes.Request{ID: "B1-complete", Model: v.batch, Subject: "batch-B1", Command: mes.CmdComplete, Actor: "op-7"})
	if !hasDenialCode(err, gate.CodeExceptionBlocks) {
		t.Errorf("complete in the window: %v; want %s", err, gate.CodeExceptionBlocks)
	}
	if st := v.state(t, v.batch, "batch-B1", ""); st != lifecycle.BatchInProgress {
		t.Errorf("batch-B1 is %s after the denied completion; want in-progress", st)
	}
	verdict := must[*release.Verdict](t)(release.Readiness(ctx, s, "batch-B1", nil))
	if verdict.Ready || !containsCode(verdict.Blocking, release.CodeExceptionOpen) {
		t.Errorf("readiness in the window: %+v; want %s blocking", verdict, release.CodeExceptionOpen)
	}

	// Submitted again on a running batch, the block lands once.
	v.startBatch(t, "batch-B2")
	dev.ID, dev.Subject = "DEV-2", "batch-B2"
	s.key = "command/open-DEV-2/block"
	if _, err := v.x.Open(ctx, exception.By{CommandID: "open-DEV-2", Actor: "op-7"}, dev); !errors.Is(err, errInjected) {
		t.Fatalf("open with the block lost: %v; want the injected failure", err)
	}
	s.key = "" // the store is back
	for range 2 {
		opened, err := v.x.Open(ctx, exception.By{CommandID: "open-DEV-2", Actor: "op-7"}, dev)
		if err != nil || opened.Consequence == nil || opened.Consequence.To != lifecycle.BatchBlocked {
			t.Fatalf("open again: %+v, %v; want batch-B2 blocked", opened, err)
		}
	}
	blocked := 0
	for _, r := range v.load(t, "batch-B2") {
		if r.Type == "batch.blocked" {
			blocked++
		}
	}
	if blocked != 1 {
		t.Errorf("batch-B2 records %d blocks; want 1", blocked)
	}
}

func containsCode(bs []release.Blocker, code gate.Code) bool {
	for _, b := range bs {
		if b.Code == code {
			return true
		}
	}
	return false
}
