package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/exception"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestRequestCarriesNoRawWrite plays a caller of the public API: no field
// of a command, however deep, is a store's append or event, so nothing a
// caller puts in a command is written except through the model's gates.
func TestRequestCarriesNoRawWrite(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if p := typ.PkgPath(); p == "github.com/interlock-mes/interlock/storage" || p == "github.com/interlock-mes/interlock/audit" {
			t.Errorf("%s is a %s: a raw write in a public command", path, typ)
			return
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Map:
			walk(path+"[key]", typ.Key())
			walk(path+"[]", typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				if f.IsExported() {
					walk(path+"."+f.Name, f.Type)
				}
			}
		}
	}
	walk("Request", reflect.TypeFor[mes.Request]())
	if !seen[reflect.TypeFor[mes.Sign]()] {
		t.Fatal("the walk did not reach Request.Signatures: it checks nothing")
	}
}

// TestForgedClosingMarkerClosesNothing plays an integrator's own model
// that mirrors an "exception closed" marker onto a batch with an open
// deviation, through an allowed transition: the batch's gates and release
// readiness still see the deviation open, because only the exception's own
// stream can close it.
func TestForgedClosingMarkerClosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	x := mestest.Must[*exception.Service](t)(exception.New(env.Engine, nil))
	if _, err := x.Open(ctx, exception.By{CommandID: "open-1", Actor: "op-7"},
		exception.Deviation{ID: "DEV-1", Summary: "door unlatched", Subject: "batch-B1"}); err != nil {
		t.Fatalf("open: %v", err)
	}
	forger := mestest.Must[*mes.Model](t)(mes.NewModel("forger", 1).States("idle", "done").Initial("idle").Final("done").
		Permit("idle", "forge", "done", mes.Mirror("target", event.ExceptionClosed)).Build())
	out, err := env.Engine.Execute(ctx, mes.Request{ID: "forge-1", Model: forger, Subject: "forger-1", Command: "forge",
		Actor: "op-7", Refs: map[string]string{"target": "batch-B1"}, Data: json.RawMessage(`{"id":"DEV-1"}`)})
	if err != nil || !out.Allowed {
		t.Fatalf("the forging transition itself is allowed by its own model: %+v, %v", out, err)
	}
	recs := mestest.Must[[]audit.Record](t)(env.Engine.Records(ctx, "batch-B1"))
	if last := recs[len(recs)-1]; last.Type != event.ExceptionClosed {
		t.Fatalf("the forged marker is not on the batch (last record %s); the test proves nothing", last.Type)
	}
	open, err := env.Engine.Facts("", nil).OpenExceptions(ctx, "batch-B1")
	if err != nil || len(open) != 1 || open[0].ID != "DEV-1" {
		t.Fatalf("open exceptions after a forged closing = %+v, %v; want DEV-1 still open", open, err)
	}
	noOpen := mestest.Must[gate.Gate](t)(gate.NoOpenException())
	v, err := noOpen.Check(ctx, &gate.Attempt{Subject: "batch-B1"}, env.Engine.Facts("", nil))
	if err != nil || v.Passed() {
		t.Errorf("NoOpenException after a forged closing: %+v, %v; want it to fail", v, err)
	}
}

// TestModelsCannotBeChanged changes everything a model hands out and shows
// that the model, and the engine running it, do not change.
func TestModelsCannotBeChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	tr := mestest.Must[*mes.Transition](t)(batch.Transition(lifecycle.BatchInProgress, mes.CmdComplete))
	gates := len(tr.Gates)
	if gates == 0 {
		t.Fatal("complete has no gate to strip; the test proves nothing")
	}
	tr.Gates = nil
	tr.Records[0] = "forged"
	for _, all := range batch.Transitions() {
		all.Gates, all.Signatures, all.Evidence = nil, nil, nil
		if len(all.Records) > 0 {
			all.Records[0] = "forged"
		}
	}
	again := mestest.Must[*mes.Transition](t)(batch.Transition(lifecycle.BatchInProgress, mes.CmdComplete))
	if len(again.Gates) != gates || again.Records[0] == "forged" {
		t.Fatalf("the model changed: %d gates (want %d), records %v", len(again.Gates), gates, again.Records)
	}
	verify := mestest.Must[*mes.Transition](t)(batch.Transition(lifecycle.BatchComplete, mes.CmdVerify))
	if len(verify.Signatures) == 0 {
		t.Fatal("verify lost its signature requirement")
	}
	// The engine still runs the gates: with a blocking exception open,
	// completing the batch is denied.
	run := func(id string, cmd mes.Command) error {
		actor := "op-7"
		if cmd == mes.CmdRelease {
			actor = "sv-1"
		}
		_, err := env.Engine.Execute(ctx, mes.Request{ID: id, Model: batch, Subject: "batch-B2", Command: cmd, Actor: actor})
		return err
	}
	for _, c := range []mes.Command{mes.CmdRelease, mes.CmdStart} {
		if err := run("b2-"+string(c), c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	x := mestest.Must[*exception.Service](t)(exception.New(env.Engine, nil))
	if _, err := x.Open(ctx, exception.By{CommandID: "open-2", Actor: "op-7"}, exception.Deviation{ID: "DEV-2", Summary: "s",
		Subject: "batch-B2", Consequence: exception.ConsequenceHold}); err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := run("b2-complete", mes.CmdComplete); !errors.Is(err, mes.ErrDenied) {
		t.Errorf("complete with a hold open after the model's gates were 'stripped': %v; want denied", err)
	}
}
