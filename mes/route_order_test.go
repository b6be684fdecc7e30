package mes_test

import (
	"context"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// orderRoute has four steps, each recording a note; R2's branch opens a
// deviation when its note is "bad".
func orderRoute() *route.Route {
	step := func(id string) route.Step {
		return route.Step{ID: id, Instructions: "Write a note.", Requirements: []route.Requirement{route.RecordValue{Name: "note"}}}
	}
	r2 := step("R2")
	r2.Branches = []route.Branch{{When: &route.Condition{Value: "note", Equals: "bad"}, OpenException: "deviation"}}
	return &route.Route{Product: "ORD-1", Version: 1, Operations: []route.Operation{
		{ID: "OP1", Name: "First", Steps: []route.Step{step("R1"), r2}},
		{ID: "OP2", Name: "Second", Steps: []route.Step{step("R3"), step("R4")}},
	}}
}

// orderEnv is a batch started on orderRoute, and the models of its steps.
type orderEnv struct {
	env   *mestest.Env
	steps map[string]*mes.Model
	n     int
}

func newOrderEnv(t testing.TB, s storage.Store, clock *mestest.Clock) *orderEnv {
	ctx := context.Background()
	env := mestest.NewOn(t, s, clock, nil).Plant()
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
	env.Fact("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	rs := mestest.Must[*route.Registry](t)(route.NewRegistry(env.Engine, nil))
	mestest.Must[*mes.Outcome](t)(rs.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: orderRoute()}))
	mestest.Must[*mes.Outcome](t)(rs.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: "ORD-1", Version: 1}))
	v := mestest.Must[*route.Version](t)(rs.Load(ctx, "ORD-1", 1))
	binding := mestest.Must[route.Binding](t)(rs.Bind(ctx, "ORD-1", 1))
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.Every(mestest.Must[mes.Option](t)(route.BindOnStart()))))
	for _, req := range []mes.Request{
		{ID: "release", Model: batch, Subject: "batch-O", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-O", Command: mes.CmdStart, Actor: "op-7", Refs: binding.Refs(), Data: binding.Data()},
	} {
		if _, err := env.Engine.Execute(ctx, req); err != nil {
			t.Fatalf("%s: %v", req.ID, err)
		}
	}
	o := &orderEnv{env: env, steps: map[string]*mes.Model{}}
	for _, id := range []string{"R1", "R2", "R3", "R4"} {
		o.steps[id] = mestest.Must[*mes.Model](t)(route.StepModel(v, id, nil))
	}
	return o
}

func (o *orderEnv) exec(step string, cmd mes.Command, actor, note string, sigs ...mes.Sign) error {
	o.n++
	req := mes.Request{ID: fmt.Sprint("o-", o.n), Model: o.steps[step], Subject: "batch-O", Step: step, Command: cmd, Actor: actor, Signatures: sigs}
	if cmd == mes.CmdComplete {
		req.Evidence = []gate.Evidence{{Name: "note", Identity: note, Source: gate.SourceManual}}
	}
	_, err := o.env.Engine.Execute(context.Background(), req)
	return err
}

// TestRouteOrder: route steps run in the route's order, a branch that opens
// a deviation stops the route, and only a permitted role skips a step.
func TestRouteOrder(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		o := newOrderEnv(t, s, clock)
		if err := o.exec("R3", mes.CmdStart, "op-7", ""); !hasDenialCode(err, route.CodeOutOfOrder) {
			t.Errorf("R3 before R1: %v; want %s", err, route.CodeOutOfOrder)
		}
		for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
			if err := o.exec("R1", c, "op-7", "fine"); err != nil {
				t.Fatalf("R1 %s: %v", c, err)
			}
		}
		// An operator may not skip R2, even with a second person's
		// signature; the skip needs a supervisor.
		if err := o.exec("R2", mes.CmdSkip, "op-7", ""); !hasDenialCode(err, gate.CodeRoleMissing) {
			t.Errorf("R2 skipped by an operator: %v; want %s", err, gate.CodeRoleMissing)
		}
		if err := o.exec("R3", mes.CmdStart, "op-7", ""); !hasDenialCode(err, route.CodeOutOfOrder) {
			t.Errorf("R3 before R2: %v; want %s", err, route.CodeOutOfOrder)
		}
		for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
			if err := o.exec("R2", c, "op-7", "bad"); err != nil {
				t.Fatalf("R2 %s: %v", c, err)
			}
		}
		// R2's note sends the route to a deviation: R3 does not follow.
		if err := o.exec("R3", mes.CmdStart, "op-7", ""); !hasDenialCode(err, route.CodeOutOfOrder) {
			t.Errorf("R3 after R2's branch opened a deviation: %v; want %s", err, route.CodeOutOfOrder)
		}
	})
}

// TestRouteOrderModel runs random commands on the steps of a route without
// branches against a reference: a step may start only when every step
// before it is complete, complete only when in progress. The engine allows
// exactly what the reference allows.
func TestRouteOrderModel(t *testing.T) {
	t.Parallel()
	ids := []string{"R1", "R2", "R3", "R4"}
	rapid.Check(t, func(rt *rapid.T) {
		clock := mestest.NewClock(mestest.Now)
		o := newOrderEnv(t, memory.New(&memory.Config{Clock: clock.Now}), clock)
		state := map[string]mes.State{}
		for range rapid.IntRange(1, 12).Draw(rt, "actions") {
			i := rapid.IntRange(0, len(ids)-1).Draw(rt, "step")
			cmd := rapid.SampledFrom([]mes.Command{mes.CmdStart, mes.CmdComplete}).Draw(rt, "command")
			id := ids[i]
			want := false
			switch cmd {
			case mes.CmdStart:
				want = state[id] == ""
				for _, before := range ids[:i] {
					want = want && state[before] == lifecycle.StepComplete
				}
			case mes.CmdComplete:
				want = state[id] == lifecycle.StepInProgress
			}
			err := o.exec(id, cmd, "op-7", "fine")
			if got := err == nil; got != want {
				rt.Fatalf("%s %s: allowed %v, reference %v (%v); states %v", id, cmd, got, want, err, state)
			}
			if err != nil && !hasDenialCode(err, route.CodeOutOfOrder) && !hasDenialCode(err, mes.CodeIllegalTransition) {
				rt.Fatalf("%s %s denied for another reason: %v", id, cmd, err)
			}
			if want {
				if cmd == mes.CmdStart {
					state[id] = lifecycle.StepInProgress
				} else {
					state[id] = lifecycle.StepComplete
				}
			}
		}
	})
}

// TestRouteSkipNeedsASecondPerson: a supervisor skips a step with a
// supervisor's approval; the one who skips cannot approve it too.
func TestRouteSkipNeedsASecondPerson(t *testing.T) {
	t.Parallel()
	stores(t, routeSkipNeedsASecondPerson)
}

func routeSkipNeedsASecondPerson(t *testing.T, s storage.Store) {
	ctx := context.Background()
	sg := newSigning(t, s, "sv-1", "sv-2")
	for _, id := range []string{"sv-1", "sv-2"} {
		sg.facts.run("person", event.PersonStream(id), mes.CmdRegister, map[string]string{"name": "Sam " + id})
		sg.facts.run("person", event.PersonStream(id), mes.CmdGrantRole, map[string]string{"role": "supervisor"})
	}
	v := approvedVersion(t, orderRoute())
	rs := mestest.Must[*route.Registry](t)(route.NewRegistry(sg.e, nil))
	sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
	sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
	mestest.Must[*mes.Outcome](t)(rs.Draft(ctx, route.DraftRequest{CommandID: "draft", Actor: "qa-3", Route: orderRoute()}))
	mestest.Must[*mes.Outcome](t)(rs.Approve(ctx, route.VersionRequest{CommandID: "approve", Actor: "qa-4", Product: "ORD-1", Version: 1}))
	binding := mestest.Must[route.Binding](t)(rs.Bind(ctx, "ORD-1", 1))
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch(lifecycle.WithoutRoles(), lifecycle.Every(mestest.Must[mes.Option](t)(route.BindOnStart()))))
	for _, req := range []mes.Request{
		{ID: "release", Model: batch, Subject: "batch-K", Command: mes.CmdRelease, Actor: "sv-1"},
		{ID: "start", Model: batch, Subject: "batch-K", Command: mes.CmdStart, Actor: "op-7", Refs: binding.Refs(), Data: binding.Data()},
	} {
		if _, err := sg.e.Execute(ctx, req); err != nil {
			t.Fatalf("%s: %v", req.ID, err)
		}
	}
	r1 := mestest.Must[*mes.Model](t)(route.StepModel(v, "R1", nil))
	skip := func(id, signer string) error {
		_, err := sg.e.Execute(ctx, mes.Request{ID: id, Model: r1, Subject: "batch-K", Step: "R1", Command: mes.CmdSkip, Actor: "sv-1",
			Signatures: []mes.Sign{{Meaning: "approved", Challenge: full(signer)}}})
		return err
	}
	if err := skip("skip-self", "sv-1"); !hasDenialCode(err, mes.CodeSignatureSelf) {
		t.Errorf("a skip approved by who skips: %v; want %s", err, mes.CodeSignatureSelf)
	}
	if err := skip("skip-2", "sv-2"); err != nil {
		t.Errorf("a skip approved by a second supervisor: %v", err)
	}
}
