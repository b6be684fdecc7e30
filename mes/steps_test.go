package mes_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// A model built with Steps runs only those steps: a request, a dry run, a
// state, a fold or a dispatch for another step (or none) is refused before
// anything is decided, and nothing is written.
func TestModelSteps(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	ctx := context.Background()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("one-step", 1).Steps("S10").
		States("pending", "done").Initial("pending").Final("done").Permit("pending", "go", "done").Build())
	if got := m.Steps(); len(got) != 1 || got[0] != "S10" {
		t.Fatalf("Steps() = %v; want [S10]", got)
	}
	before, err := env.Store.Load(ctx, "batch/B1", 1)
	if err != nil {
		t.Fatal(err)
	}
	wantStep := func(what string, err error, named string) {
		t.Helper()
		var re *mes.RequestError
		if !errors.As(err, &re) || re.Field != "Step" || !errors.Is(err, interlock.ErrInvalid) || !strings.Contains(err.Error(), named) {
			t.Errorf("%s: %v; want a *RequestError on Step naming %q", what, err, named)
		}
	}
	for _, step := range []string{"S20", ""} {
		req := mes.Request{ID: "c-" + step, Model: m, Subject: "batch/B1", Step: step, Command: "go", Actor: "op-7"}
		_, err := env.Engine.Execute(ctx, req)
		wantStep("Execute step "+step, err, "S10")
		_, err = env.Engine.Check(ctx, req)
		wantStep("Check step "+step, err, "S10")
		_, err = env.Engine.State(ctx, m, "batch/B1", step)
		wantStep("State step "+step, err, "S10")
		_, err = mes.Fold(m, step, nil)
		wantStep("Fold step "+step, err, "S10")
		_, err = env.Engine.Dispatch(ctx, "op-7", []mes.Subject{{Model: m, Subject: "batch/B1", Step: step}})
		wantStep("Dispatch step "+step, err, "S10")
	}
	after, err := env.Store.Load(ctx, "batch/B1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("refused requests wrote %d records", len(after)-len(before))
	}
	out, err := env.Engine.Execute(ctx, mes.Request{ID: "ok", Model: m, Subject: "batch/B1", Step: "S10", Command: "go", Actor: "op-7"})
	if err != nil || out.To != "done" {
		t.Fatalf("the model's own step: %v, %+v", err, out)
	}
	if s, err := env.Engine.State(ctx, m, "batch/B1", "S10"); err != nil || s != "done" {
		t.Errorf("State(S10) = %q, %v; want done", s, err)
	}
	// A model without Steps runs any step.
	free := mestest.Must[*mes.Model](t)(mes.NewModel("any-step", 1).
		States("pending", "done").Initial("pending").Final("done").Permit("pending", "go", "done").Build())
	if free.Steps() != nil {
		t.Errorf("Steps() of a model without Steps = %v; want nil", free.Steps())
	}
	if _, err := env.Engine.State(ctx, free, "batch/B1", "S99"); err != nil {
		t.Errorf("a model without Steps refused step S99: %v", err)
	}
}

func TestModelStepsDefinition(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		steps []string
		want  string
	}{
		{"none", nil, "Steps names no step"},
		{"empty", []string{"S10", ""}, "step 1 of Steps is empty"},
		{"twice", []string{"S10", "S10"}, `step "S10" is named twice`},
	} {
		_, err := mes.NewModel("m", 1).Steps(c.steps...).States("a", "b").Initial("a").Final("b").Permit("a", "go", "b").Build()
		var de *mes.DefinitionError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want a *DefinitionError saying %q", c.name, err, c.want)
		}
	}
}

// ForCommand puts a gate on one command's transitions only: the role
// gate on start does not stop QA's verification.
func TestForCommand(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	ctx := context.Background()
	operator := mestest.Must[gate.Gate](t)(gate.RequireRole("operator"))
	m := mestest.Must[*mes.Model](t)(mes.NewModel("step", 1).
		States("pending", "running", "done").Initial("pending").Final("done").
		Permit("pending", mes.CmdStart, "running", mes.ForCommand(mes.CmdStart, mes.WithGates(operator))).
		Permit("running", mes.CmdVerify, "done", mes.ForCommand(mes.CmdStart, mes.WithGates(operator))).
		Build())
	start, _ := m.Transition("pending", mes.CmdStart)
	verify, _ := m.Transition("running", mes.CmdVerify)
	if len(start.Gates) != 1 || len(verify.Gates) != 0 {
		t.Fatalf("gates: start %d, verify %d; want 1 and 0", len(start.Gates), len(verify.Gates))
	}
	req := mes.Request{ID: "s1", Model: m, Subject: "order/O1", Command: mes.CmdStart, Actor: "qa-3"}
	if _, err := env.Engine.Execute(ctx, req); !errors.Is(err, mes.ErrDenied) {
		t.Fatalf("QA started an operator's step: %v", err)
	}
	req.ID, req.Actor = "s2", "op-7"
	if _, err := env.Engine.Execute(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "v1", Model: m, Subject: "order/O1", Command: mes.CmdVerify, Actor: "qa-3"}); err != nil {
		t.Fatalf("the start's role gate stopped QA's verification: %v", err)
	}
	_, err := mes.NewModel("m", 1).States("a", "b").Initial("a").Final("b").Permit("a", "go", "b", mes.ForCommand("", mes.WithGates(operator))).Build()
	if err == nil || !strings.Contains(err.Error(), "ForCommand names no command") {
		t.Errorf("ForCommand with no command: %v; want a definition error", err)
	}
}

func TestBlockedAwaitsInput(t *testing.T) {
	t.Parallel()
	r := func(c gate.Code) gate.Reason { return gate.Reason{Code: c} }
	for _, c := range []struct {
		reasons []gate.Reason
		want    bool
	}{
		{nil, false},
		{[]gate.Reason{r(gate.CodeEvidenceMissing)}, true},
		{[]gate.Reason{r(gate.CodeEvidenceMissing), r(gate.CodeRefMissing), r(gate.CodeValueMissing)}, true},
		{[]gate.Reason{r(gate.CodeEvidenceMissing), r(gate.CodeRoleMissing)}, false},
		{[]gate.Reason{r(gate.CodeLotNotReleased)}, false},
	} {
		if got := (mes.Blocked{Command: "go", Reasons: c.reasons}).AwaitsInput(); got != c.want {
			t.Errorf("%v: AwaitsInput() = %v, want %v", c.reasons, got, c.want)
		}
	}
	// Through the engine: a step that needs a scan the board has not got.
	env := mestest.New(t, nil).Plant()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("scan", 1).States("a", "b").Initial("a").Final("b").
		Permit("a", "go", "b", mes.WithEvidence(mes.EvidenceRequirement{Name: "lot-scan"})).Build())
	ds, err := env.Engine.Dispatch(context.Background(), "op-7", []mes.Subject{{Model: m, Subject: "order/O1"}})
	if err != nil || len(ds) != 1 || len(ds[0].Blocked) != 1 || !ds[0].Blocked[0].AwaitsInput() {
		t.Errorf("dispatch of a step awaiting a scan: %+v, %v", ds, err)
	}
}
