package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// facts runs fact commands through the engine, as an administrator would.
type facts struct {
	tb     testing.TB
	e      *mes.Engine
	n      int
	models map[string]*mes.Model
}

func newFacts(tb testing.TB, e *mes.Engine) *facts {
	m := map[string]*mes.Model{}
	for name, build := range map[string]func(...mes.Option) (*mes.Model, error){"lot": mes.LotModel, "equipment": mes.EquipmentModel, "person": mes.PersonModel} {
		m[name] = must[*mes.Model](tb)(build())
	}
	return &facts{tb: tb, e: e, models: m}
}

func (f *facts) run(model, subject string, cmd mes.Command, data any) {
	f.tb.Helper()
	f.n++
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	if _, err := f.e.Execute(context.Background(), mes.Request{ID: fmt.Sprintf("fact-%d", f.n), Model: f.models[model],
		Subject: subject, Command: cmd, Actor: "admin", Data: raw}); err != nil {
		f.tb.Fatalf("%s %s: %v", cmd, subject, err)
	}
}

// plant registers an operator, a QA person, a released lot and a scale.
func plant(tb testing.TB, e *mes.Engine) *facts {
	f := newFacts(tb, e)
	f.run("person", event.PersonStream("op-7"), mes.CmdRegister, map[string]string{"name": "Olga Operator"})
	f.run("person", event.PersonStream("op-7"), mes.CmdGrantRole, map[string]string{"role": "operator"})
	f.run("person", event.PersonStream("op-7"), mes.CmdRecordTrained, map[string]any{"skill": "dispensing", "until": now.Add(24 * time.Hour)})
	f.run("person", event.PersonStream("qa-3"), mes.CmdRegister, map[string]string{"name": "Quentin QA"})
	f.run("person", event.PersonStream("qa-3"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	f.run("lot", event.LotStream("L7"), mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimalOf(tb, "50"), Unit: "kg", Expiry: now.Add(90 * 24 * time.Hour)})
	f.run("lot", event.LotStream("L7"), mes.CmdRelease, nil)
	f.run("equipment", event.EquipmentStream("SC-01"), mes.CmdRegister, map[string]string{"status": "available"})
	f.run("equipment", event.EquipmentStream("SC-01"), mes.CmdCalibrate, map[string]any{"status": "valid", "due": now.Add(30 * 24 * time.Hour)})
	f.run("equipment", event.EquipmentStream("SC-01"), mes.CmdClean, map[string]any{"status": "clean"})
	return f
}

// dispenseModel is a batch model whose start is gated on the operator's role
// and training, the lot and the scale.
func dispenseModel(tb testing.TB, extra ...gate.Gate) *mes.Model {
	m := must[gate.Gate](tb)
	gates := append([]gate.Gate{
		m(gate.RequireRole("operator")),
		m(gate.TrainingCurrent("dispensing")),
		m(gate.LotUsable(gate.FromRef("lot"), "API-100")),
		m(gate.EquipmentReady(gate.FromRef("scale"))),
		m(gate.NoOpenException()),
	}, extra...)
	b := mes.NewModel("dispense", 1).
		States(lifecycle.BatchReady, lifecycle.BatchInProgress, lifecycle.BatchComplete).
		Initial(lifecycle.BatchReady).Final(lifecycle.BatchComplete).
		Permit(lifecycle.BatchReady, mes.CmdStart, lifecycle.BatchInProgress, mes.WithGates(gates...), mes.Recording("batch.started")).
		Permit(lifecycle.BatchInProgress, mes.CmdComplete, lifecycle.BatchComplete, mes.Recording("batch.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}))
	return must[*mes.Model](tb)(b.Build())
}

func newEngine(tb testing.TB) (*mes.Engine, storage.Store) {
	e, s, _ := newEngineOn(tb, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	return e, s
}

func newEngineOn(tb testing.TB, s storage.Store) (*mes.Engine, storage.Store, *facts) {
	e, err := mes.New(s, &mes.Config{Clock: func() time.Time { return now }, Attestation: mestest.Attestation()})
	if err != nil {
		tb.Fatal(err)
	}
	return e, s, plant(tb, e)
}

func startReq(m *mes.Model, id, actor string) mes.Request {
	return mes.Request{ID: id, Model: m, Subject: "batch-B42", Command: mes.CmdStart, Actor: actor,
		Refs: map[string]string{"lot": "L7", "scale": "SC-01"}}
}

func TestExecuteAllowed(t *testing.T) {
	t.Parallel()
	e, s := newEngine(t)
	m := dispenseModel(t)
	out, err := e.Execute(context.Background(), startReq(m, "cmd-1", "op-7"))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if !out.Allowed || out.From != lifecycle.BatchReady || out.To != lifecycle.BatchInProgress || len(out.Records) != 1 || out.Records[0].Type != "batch.started" {
		t.Fatalf("outcome %+v: want an allowed start recorded as batch.started", out)
	}
	recs, _ := s.Load(context.Background(), "batch-B42", 1)
	if st, err := mes.Fold(m, "", recs); err != nil || st != lifecycle.BatchInProgress {
		t.Errorf("state after start = %q, %v; want in-progress", st, err)
	}
}

func TestExecuteDeniedByGates(t *testing.T) {
	t.Parallel()
	e, s, f := newEngineOn(t, memory.New(nil))
	m := dispenseModel(t)
	f.run("lot", event.LotStream("L7"), mes.CmdHold, map[string]string{"reason": "supplier complaint"})
	// qa-3 is neither an operator nor trained, and the lot is on hold.
	out, err := e.Execute(context.Background(), startReq(m, "cmd-1", "qa-3"))
	var de *mes.DeniedError
	if !errors.As(err, &de) || !errors.Is(err, mes.ErrDenied) {
		t.Fatalf("error = %v, want a *DeniedError", err)
	}
	var codes []gate.Code
	for _, r := range de.Reasons {
		codes = append(codes, r.Code)
	}
	for _, want := range []gate.Code{gate.CodeRoleMissing, gate.CodeTrainingMissing, gate.CodeLotOnHold} {
		if !slices.Contains(codes, want) {
			t.Errorf("reasons %v lack %s: every failing gate must be recorded", codes, want)
		}
	}
	if out.Allowed || out.To != lifecycle.BatchReady {
		t.Errorf("outcome %+v: want denied, state unchanged", out)
	}
	recs, _ := s.Load(context.Background(), "batch-B42", 1)
	if len(recs) != 1 || recs[0].Type != event.Denied || recs[0].Actor != "qa-3" {
		t.Fatalf("stream holds %+v, want exactly the denied attempt by qa-3", recs)
	}
	var p event.Transition
	if err := json.Unmarshal(recs[0].Payload, &p); err != nil || len(p.Reasons) != len(de.Reasons) {
		t.Errorf("denied record payload %s: want the %d reasons", recs[0].Payload, len(de.Reasons))
	}
	if st, _ := mes.Fold(m, "", recs); st != lifecycle.BatchReady {
		t.Errorf("state after a denial = %q, want ready", st)
	}
}

func TestExecuteIllegalCommandIsRecorded(t *testing.T) {
	t.Parallel()
	e, s := newEngine(t)
	m := dispenseModel(t)
	req := startReq(m, "cmd-9", "op-7")
	req.Command = mes.CmdComplete
	_, err := e.Execute(context.Background(), req)
	if !errors.Is(err, mes.ErrIllegalTransition) || !errors.Is(err, mes.ErrDenied) {
		t.Fatalf("error = %v, want a denial matching ErrIllegalTransition", err)
	}
	recs, _ := s.Load(context.Background(), "batch-B42", 1)
	if len(recs) != 1 || recs[0].Type != event.Denied {
		t.Fatalf("stream holds %d records, want the denied attempt", len(recs))
	}
}

func TestExecuteManualEntryDenied(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	m := dispenseModel(t)
	ctx := context.Background()
	must[*mes.Outcome](t)(e.Execute(ctx, startReq(m, "cmd-1", "op-7")))
	req := mes.Request{ID: "cmd-2", Model: m, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7",
		Evidence: []gate.Evidence{{Name: "net-weight", HasValue: true, Value: decimalOf(t, "12.45"), Unit: "kg", Source: gate.SourceManual}}}
	if _, err := e.Execute(ctx, req); !errors.Is(err, mes.ErrDenied) {
		t.Fatalf("manual entry where a device is demanded: error = %v, want a denial", err)
	}
	req.ID, req.Evidence[0].Source, req.Evidence[0].Instrument = "cmd-3", gate.SourceDevice, "SC-01"
	if out, err := e.Execute(ctx, req); err != nil || out.To != lifecycle.BatchComplete {
		t.Fatalf("device reading: %+v, %v; want complete", out, err)
	}
}

func TestExecuteSameCommandTwice(t *testing.T) {
	t.Parallel()
	e, s := newEngine(t)
	m := dispenseModel(t)
	ctx := context.Background()
	first := must[*mes.Outcome](t)(e.Execute(ctx, startReq(m, "cmd-1", "op-7")))
	again, err := e.Execute(ctx, startReq(m, "cmd-1", "op-7"))
	if err != nil || !again.Replayed || !again.Allowed || again.To != lifecycle.BatchInProgress {
		t.Fatalf("retry: %+v, %v; want the first outcome, replayed", again, err)
	}
	if again.Records[0].Hash != first.Records[0].Hash {
		t.Error("retry returned another record")
	}
	if recs, _ := s.Load(ctx, "batch-B42", 1); len(recs) != 1 {
		t.Errorf("stream holds %d records after a retry, want 1", len(recs))
	}
}

// TestHoldBetweenEvaluationAndAppend places a hold on the lot after the
// gates read it and before the append: the append must conflict, the gates
// run again, and the start is denied for the hold.
func TestHoldBetweenEvaluationAndAppend(t *testing.T) {
	t.Parallel()
	e, s, f := newEngineOn(t, memory.New(nil))
	var calls atomic.Int32
	interloper := gate.Func(func(ctx context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
		if calls.Add(1) == 1 {
			f.run("lot", event.LotStream("L7"), mes.CmdHold, map[string]string{"reason": "OOS result"})
		}
		return gate.Pass(), nil
	})
	m := dispenseModel(t, interloper)
	_, err := e.Execute(context.Background(), startReq(m, "cmd-1", "op-7"))
	var de *mes.DeniedError
	if !errors.As(err, &de) || len(de.Reasons) != 1 || de.Reasons[0].Code != gate.CodeLotOnHold {
		t.Fatalf("error = %v, want a denial for the hold alone", err)
	}
	if calls.Load() != 2 {
		t.Errorf("gates ran %d times, want 2 (once stale, once after the conflict)", calls.Load())
	}
	if _, err := storage.Verify(context.Background(), s, nil, nil); err != nil {
		t.Errorf("audit trail: %v", err)
	}
}

// TestSignedTransitionFailsClosed: a transition that requires a signature
// and is given none is denied, never passed unsigned.
func TestSignedTransitionFailsClosed(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t)
	m := must[*mes.Model](t)(mes.NewModel("verify", 1).States("done", "verified").Initial("done").Final("verified").
		Permit("done", mes.CmdVerify, "verified", mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, NotPerformer: true})).Build())
	_, err := e.Execute(context.Background(), mes.Request{ID: "v1", Model: m, Subject: "batch-B42", Command: mes.CmdVerify, Actor: "qa-3"})
	var de *mes.DeniedError
	if !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeSignatureMissing) {
		t.Fatalf("error = %v, want a denial for the missing signature", err)
	}
}
