package mes_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestLifecycleRoles: the standard lifecycles built without options gate
// every command by role. For every transition of each, an actor with no
// role and an actor with a role not listed are denied with
// gate.CodeRoleMissing (recorded), and one with a listed role is allowed;
// WithoutRoles opens them; a roles map that leaves a command out is an
// error, not an open command.
func TestLifecycleRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	roles := lifecycle.DefaultRoles()
	for _, lc := range []struct {
		name  string
		build func(...lifecycle.Option) (*mes.Model, error)
	}{{"batch", lifecycle.Batch}, {"order", lifecycle.Order}, {"step", lifecycle.Step}} {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			m := mestest.Must[*mes.Model](t)(lc.build())
			open := mestest.Must[*mes.Model](t)(lc.build(lifecycle.WithoutRoles()))
			for _, tr := range m.Transitions() {
				allowed := roles[tr.Command]
				if len(allowed) == 0 {
					t.Fatalf("%s: no default roles", tr.Command)
				}
				// A role the command does not list, if there is one.
				var other string
				for _, r := range []string{lifecycle.RoleOperator, lifecycle.RoleSupervisor, lifecycle.RoleQA} {
					if !slices.Contains(allowed, r) {
						other = r
						break
					}
				}
				attempt := &gate.Attempt{Actor: "someone", Transition: gate.Transition{Command: gate.Command(tr.Command)}}
				var passes, others, none bool
				for _, g := range tr.Gates {
					if gate.Name(g) != "require-role" {
						continue
					}
					for _, c := range []struct {
						roles []string
						out   *bool
					}{{allowed[:1], &passes}, {nil, &none}, {[]string{other}, &others}} {
						a := *attempt
						a.Roles = c.roles
						v, err := g.Check(ctx, &a, nil)
						if err != nil {
							t.Fatal(err)
						}
						*c.out = v.Passed()
					}
				}
				if !passes || none || (other != "" && others) {
					t.Errorf("%s %s -> %s: role %q passes %v, no role passes %v, role %q passes %v; want only the first",
						tr.From, tr.Command, tr.To, allowed[0], passes, none, other, others)
				}
				otr := mestest.Must[*mes.Transition](t)(open.Transition(tr.From, tr.Command))
				for _, g := range otr.Gates {
					if gate.Name(g) == "require-role" {
						t.Errorf("WithoutRoles: %s %s still has a role gate", tr.From, tr.Command)
					}
				}
			}
			partial := lifecycle.DefaultRoles()
			delete(partial, mes.CmdComplete)
			if _, err := lc.build(lifecycle.WithRoles(partial)); err == nil {
				t.Error("roles without complete: no error")
			}
		})
	}

	// Through the engine: the operator may not release a batch to the
	// floor, nor QA start it; each denial is recorded.
	env := mestest.New(t, nil).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	exec := func(id, actor string, cmd mes.Command) error {
		_, err := env.Engine.Execute(ctx, mes.Request{ID: id, Model: batch, Subject: "batch-R1", Command: cmd, Actor: actor})
		return err
	}
	for _, c := range []struct {
		id, actor string
		cmd       mes.Command
		ok        bool
	}{
		{"r1", "op-7", mes.CmdRelease, false},
		{"r2", "nobody", mes.CmdRelease, false},
		{"r3", "sv-1", mes.CmdRelease, true},
		{"s1", "qa-3", mes.CmdStart, false},
		{"s2", "op-7", mes.CmdStart, true},
		{"h1", "op-7", mes.CmdHold, true},
		{"x1", "op-7", mes.CmdRestart, false},
		{"x2", "qa-3", mes.CmdRestart, true},
		{"a1", "op-7", mes.CmdAbort, false},
	} {
		err := exec(c.id, c.actor, c.cmd)
		var denied *mes.DeniedError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s %s: %v, want allowed", c.actor, c.cmd, err)
		case !c.ok && (!errors.As(err, &denied) || !hasDenialCode(err, gate.CodeRoleMissing)):
			t.Errorf("%s %s: %v, want denied with %s", c.actor, c.cmd, err, gate.CodeRoleMissing)
		}
	}
}
