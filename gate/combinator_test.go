package gate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/gate"
)

// counted returns g and the number of times it has been checked.
func counted(g gate.Gate) (gate.Gate, *atomic.Int32) {
	var n atomic.Int32
	return gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		n.Add(1)
		return g.Check(ctx, a, f)
	}), &n
}

func reasonOf(code gate.Code) gate.Reason {
	return gate.Reason{Code: code, Message: string(code) + " happened"}
}

func TestAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		gates   []gate.Gate
		want    []gate.Reason
		wantErr bool
	}{
		{name: "OnePasses", gates: []gate.Gate{passing}},
		{name: "AllPass", gates: []gate.Gate{passing, passing, passing}},
		{name: "OneFails", gates: []gate.Gate{passing, failing("a.one"), passing}, want: []gate.Reason{reasonOf("a.one")}},
		{
			// Every failure, in order, not only the first.
			name:  "EveryFailureReported",
			gates: []gate.Gate{failing("a.one"), passing, failing("a.two"), failing("a.three")},
			want:  []gate.Reason{reasonOf("a.one"), reasonOf("a.two"), reasonOf("a.three")},
		},
		{name: "ErrorWins", gates: []gate.Gate{failing("a.one"), erring, passing}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := mustGate(t)(gate.All(tt.gates...))
			v, err := g.Check(t.Context(), attempt(), nil)
			if tt.wantErr {
				if !errors.Is(err, errStore) {
					t.Fatalf("Check error = %v, want errStore", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllChecksEveryGateAfterAFailure(t *testing.T) {
	t.Parallel()
	first, n1 := counted(failing("a.one"))
	last, n2 := counted(passing)
	g := mustGate(t)(gate.All(first, last))
	if _, err := g.Check(t.Context(), attempt(), nil); err != nil {
		t.Fatal(err)
	}
	if n1.Load() != 1 || n2.Load() != 1 {
		t.Errorf("checked %d and %d times, want 1 and 1", n1.Load(), n2.Load())
	}
}

func TestAny(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		gates   []gate.Gate
		want    []gate.Reason
		wantErr bool
	}{
		{name: "OnePasses", gates: []gate.Gate{passing}},
		{name: "LastPasses", gates: []gate.Gate{failing("a.one"), failing("a.two"), passing}},
		{
			name:  "NonePassesEveryReason",
			gates: []gate.Gate{failing("a.one"), failing("a.two")},
			want:  []gate.Reason{reasonOf("a.one"), reasonOf("a.two")},
		},
		{
			// The pass settles the answer whatever the failed lookup held.
			name:  "PassOutweighsError",
			gates: []gate.Gate{erring, passing},
		},
		{name: "ErrorWhenNonePasses", gates: []gate.Gate{failing("a.one"), erring}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := mustGate(t)(gate.Any(tt.gates...))
			v, err := g.Check(t.Context(), attempt(), nil)
			if tt.wantErr {
				if !errors.Is(err, errStore) {
					t.Fatalf("Check error = %v, want errStore", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnyStopsAtTheFirstPass(t *testing.T) {
	t.Parallel()
	after, n := counted(failing("a.one"))
	g := mustGate(t)(gate.Any(passing, after))
	if _, err := g.Check(t.Context(), attempt(), nil); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 0 {
		t.Errorf("the gate after a pass was checked %d times", n.Load())
	}
}

func TestNot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		child   gate.Gate
		want    []gate.Reason
		wantErr string
	}{
		{
			name:  "ChildPasses",
			child: passing,
			want:  []gate.Reason{{Gate: "not", Code: "role.forbidden", Message: "trainees may not release"}},
		},
		{name: "ChildFails", child: failing("a.one")},
		{name: "ChildErrs", child: erring, wantErr: "not: store offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := mustGate(t)(gate.Not(tt.child, "role.forbidden", "trainees may not release"))
			v, err := g.Check(t.Context(), attempt(), nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errStore) {
					t.Fatalf("Check error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCombinatorsNest(t *testing.T) {
	t.Parallel()
	must := mustGate(t)
	// Release needs QA, or a supervisor who is not a trainee, and the lot.
	trainee := must(gate.RequireRole("trainee"))
	notTrainee := must(gate.Not(trainee, "role.trainee", "a trainee may not release on their own"))
	supervisor := must(gate.All(must(gate.RequireRole("supervisor")), notTrainee))
	g := must(gate.All(
		must(gate.Any(must(gate.RequireRole("qa")), must(gate.Named("supervisor-not-trainee", supervisor)))),
		must(gate.LotUsable(gate.FromRef("lot"))),
	))
	tests := []struct {
		name  string
		roles []string
		hold  bool
		want  []gate.Reason
	}{
		{name: "QA", roles: []string{"qa"}},
		{name: "Supervisor", roles: []string{"supervisor"}},
		{
			name:  "TraineeSupervisorAndLotOnHold",
			roles: []string{"supervisor", "trainee"},
			hold:  true,
			want: []gate.Reason{
				{Gate: "require-role", Code: gate.CodeRoleMissing,
					Message: "alice holds none of the roles allowed to complete-step: qa"},
				{Gate: "supervisor-not-trainee", Code: "role.trainee", Message: "a trainee may not release on their own"},
				{Gate: "lot-usable", Code: gate.CodeLotOnHold, Message: "lot lot-L7 is on hold"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, f := attempt(), world()
			a.Roles = tt.roles
			l := f.lots["lot-L7"]
			l.OnHold = tt.hold
			f.lots["lot-L7"] = l
			v, err := g.Check(t.Context(), a, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCombinatorsRefuseBadDefinitions(t *testing.T) {
	t.Parallel()
	var nilFunc gate.Func
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"AllEmpty":    func() (gate.Gate, error) { return gate.All() },
		"AllNil":      func() (gate.Gate, error) { return gate.All(passing, nil, nilFunc) },
		"AnyEmpty":    func() (gate.Gate, error) { return gate.Any() },
		"AnyNil":      func() (gate.Gate, error) { return gate.Any(nil) },
		"NotNil":      func() (gate.Gate, error) { return gate.Not(nil, "a.b", "m") },
		"NotNoCode":   func() (gate.Gate, error) { return gate.Not(passing, "", "m") },
		"NotNothing":  func() (gate.Gate, error) { return gate.Not(nilFunc, "", "") },
		"NotNoReason": func() (gate.Gate, error) { return gate.Not(passing, "a.b", "") },
	}, map[string]string{
		"AllEmpty":    "gate: All: no gates",
		"AllNil":      "gate: All: gate 1 is nil\ngate: All: gate 2 is nil",
		"AnyEmpty":    "gate: Any: no gates",
		"AnyNil":      "gate: Any: gate 0 is nil",
		"NotNil":      "gate: Not: gate is nil",
		"NotNoCode":   "gate: Not: code is empty",
		"NotNothing":  "gate: Not: gate is nil\ngate: Not: code is empty\ngate: Not: message is empty",
		"NotNoReason": "gate: Not: message is empty",
	})
}

func TestAllKeepsItsOwnCopyOfGates(t *testing.T) {
	t.Parallel()
	gates := []gate.Gate{passing}
	g := mustGate(t)(gate.All(gates...))
	gates[0] = failing("a.one")
	v, err := g.Check(t.Context(), attempt(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Passed() {
		t.Error("All followed a change to the caller's slice")
	}
}

func TestIfEvidenceChecksOnlyWithTheEvidence(t *testing.T) {
	fail := gate.Func(func(context.Context, *gate.Attempt, gate.Facts) (gate.Verdict, error) {
		return gate.Fail(gate.Reason{Code: "x.fail", Message: "failed"}), nil
	})
	named, err := gate.Named("weight", fail)
	if err != nil {
		t.Fatal(err)
	}
	g := gate.IfEvidence("net", named)
	if gate.Name(g) != "weight" {
		t.Errorf("Name = %q; want the guarded gate's name", gate.Name(g))
	}
	for _, tt := range []struct {
		evidence []gate.Evidence
		pass     bool
	}{
		{nil, true},
		{[]gate.Evidence{{Name: "tare"}}, true},
		{[]gate.Evidence{{Name: "net"}}, false},
	} {
		v, err := g.Check(context.Background(), &gate.Attempt{Evidence: tt.evidence}, nil)
		if err != nil || v.Passed() != tt.pass {
			t.Errorf("evidence %v: passed %v, err %v; want passed %v", tt.evidence, v.Passed(), err, tt.pass)
		}
		if !v.Passed() && v.Reasons[0].Gate != "weight" {
			t.Errorf("reason gate = %q; want weight", v.Reasons[0].Gate)
		}
	}
	if gate.IfEvidence("net", nil) != nil {
		t.Error("IfEvidence of a nil gate is not nil")
	}
}
