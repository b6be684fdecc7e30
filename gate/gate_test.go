package gate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/gate"
)

// fixed returns a gate that always returns v and err, sharing v's slice
// between calls as a careless custom gate might.
func fixed(v gate.Verdict, err error) gate.Gate {
	return gate.Func(func(context.Context, *gate.Attempt, gate.Facts) (gate.Verdict, error) { return v, err })
}

var (
	passing = fixed(gate.Pass(), nil)
	failing = func(code gate.Code) gate.Gate {
		return fixed(gate.Fail(gate.Reason{Code: code, Message: string(code) + " happened"}), nil)
	}
	erring = fixed(gate.Verdict{}, errStore)
)

func TestVerdict(t *testing.T) {
	t.Parallel()
	r1 := gate.Reason{Code: "a.b", Message: "one"}
	r2 := gate.Reason{Code: "c.d", Message: "two"}
	tests := []struct {
		name       string
		v          gate.Verdict
		wantPassed bool
		wantR      []gate.Reason
	}{
		{name: "Zero", v: gate.Verdict{}, wantPassed: true},
		{name: "Pass", v: gate.Pass(), wantPassed: true},
		{name: "FailOne", v: gate.Fail(r1), wantR: []gate.Reason{r1}},
		{name: "FailSeveral", v: gate.Fail(r1, r2), wantR: []gate.Reason{r1, r2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.v.Passed(); got != tt.wantPassed {
				t.Errorf("Passed() = %v, want %v", got, tt.wantPassed)
			}
			if diff := cmp.Diff(tt.wantR, tt.v.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailCopiesItsReasons(t *testing.T) {
	t.Parallel()
	more := []gate.Reason{{Code: "c.d", Message: "two"}}
	v := gate.Fail(gate.Reason{Code: "a.b", Message: "one"}, more...)
	more[0].Code = "changed"
	if v.Reasons[1].Code != "c.d" {
		t.Errorf("the verdict follows a change to the caller's slice: %v", v.Reasons)
	}
}

func TestFuncNilIsAnError(t *testing.T) {
	t.Parallel()
	var fn gate.Func
	if _, err := fn.Check(t.Context(), attempt(), nil); err == nil {
		t.Error("a nil Func checked without error")
	}
}

func TestNamed(t *testing.T) {
	t.Parallel()
	shared := gate.Fail(gate.Reason{Gate: "inner", Code: "x.y", Message: "x"})
	tests := []struct {
		name    string
		g       gate.Gate
		want    []gate.Reason
		wantErr string
	}{
		{name: "Pass", g: passing},
		{
			name: "NamesItsReasons",
			g:    failing("lot.custom"),
			want: []gate.Reason{{Gate: "outer", Code: "lot.custom", Message: "lot.custom happened"}},
		},
		{
			name: "RenamesAnInnerName",
			g:    fixed(shared, nil),
			want: []gate.Reason{{Gate: "outer", Code: "x.y", Message: "x"}},
		},
		{
			name:    "WrapsErrors",
			g:       erring,
			wantErr: "outer: store offline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := gate.Named("outer", tt.g)
			if err != nil {
				t.Fatal(err)
			}
			if got := gate.Name(g); got != "outer" {
				t.Errorf("Name = %q, want outer", got)
			}
			v, err := g.Check(t.Context(), attempt(), nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errStore) {
					t.Fatalf("Check error = %v, want %q matching errStore", err, tt.wantErr)
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
	// The shared verdict of the inner gate is left as it was.
	if got := shared.Reasons[0].Gate; got != "inner" {
		t.Errorf("Named changed the inner gate's verdict: Gate = %q", got)
	}
}

func TestNamedRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	var nilFunc gate.Func
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptyName": func() (gate.Gate, error) { return gate.Named("", passing) },
		"NilGate":   func() (gate.Gate, error) { return gate.Named("x", nil) },
		"NilFunc":   func() (gate.Gate, error) { return gate.Named("x", nilFunc) },
	}, map[string]string{
		"EmptyName": "gate: Named: name is empty",
		"NilGate":   "gate: Named x: gate is nil",
		"NilFunc":   "gate: Named x: gate is nil",
	})
}

func TestName(t *testing.T) {
	t.Parallel()
	must := mustGate(t)
	tests := []struct {
		g    gate.Gate
		want string
	}{
		{must(gate.RequireRole("operator")), "require-role"},
		{must(gate.TrainingCurrent("s")), "training-current"},
		{must(gate.EquipmentReady(gate.FromRef("equipment"))), "equipment-ready"},
		{must(gate.LotUsable(gate.FromRef("lot"))), "lot-usable"},
		{must(gate.EvidencePresent("e", gate.Literal("x"))), "evidence-present"},
		{must(gate.WithinTolerance("e", gate.Tolerance{Unit: "kg", Bounds: gate.Inclusive})), "within-tolerance"},
		{must(gate.RequireSource("e", gate.SourceDevice)), "require-source"},
		{must(gate.RequireStable("e")), "require-stable"},
		{must(gate.PriorSteps([]gate.StepState{gate.StepComplete}, "S1")), "prior-steps"},
		{must(gate.NoOpenException()), "no-open-exception"},
		{must(gate.NoBlockingException()), "no-blocking-exception"},
		{must(gate.DistinctActor("approved")), "distinct-actor"},
		{must(gate.Not(passing, "x.y", "x")), "not"},
		{must(gate.All(passing)), ""},
		{passing, ""},
	}
	for _, tt := range tests {
		if got := gate.Name(tt.g); got != tt.want {
			t.Errorf("Name(%T) = %q, want %q", tt.g, got, tt.want)
		}
	}
}

// TestMalformedCalls checks that every gate answers a nil attempt, and every
// gate that looks facts up answers nil facts, with an error, not a panic or
// a verdict.
func TestMalformedCalls(t *testing.T) {
	t.Parallel()
	must := mustGate(t)
	all := map[string]gate.Gate{
		"RequireRole":     must(gate.RequireRole("operator")),
		"EvidencePresent": must(gate.EvidencePresent("lot-scan", gate.FromRef("lot"))),
		"WithinTolerance": must(gate.WithinTolerance("w", gate.Tolerance{Unit: "kg", Bounds: gate.Inclusive})),
		"RequireSource":   must(gate.RequireSource("w", gate.SourceDevice)),
		"RequireStable":   must(gate.RequireStable("w")),
		"All":             must(gate.All(passing)),
		"Any":             must(gate.Any(passing)),
		"Not":             must(gate.Not(failing("a.b"), "x.y", "x")),
		"Named":           must(gate.Named("n", passing)),
	}
	needFacts := map[string]gate.Gate{
		"TrainingCurrent": must(gate.TrainingCurrent("dispensing")),
		"EquipmentReady":  must(gate.EquipmentReady(gate.FromRef("equipment"))),
		"LotUsable":       must(gate.LotUsable(gate.FromRef("lot"))),
		"PriorSteps":      must(gate.PriorSteps([]gate.StepState{gate.StepComplete}, "S10")),
		"NoOpenException": must(gate.NoOpenException()),
		"NoBlocking":      must(gate.NoBlockingException()),
		"DistinctActor":   must(gate.DistinctActor("approved")),
	}
	for name, g := range needFacts {
		all[name] = g
	}
	for name, g := range all {
		t.Run(name+"/NilAttempt", func(t *testing.T) {
			t.Parallel()
			if _, err := g.Check(t.Context(), nil, world()); !errors.Is(err, gate.ErrNilAttempt) {
				t.Errorf("Check(nil attempt) error = %v, want ErrNilAttempt", err)
			}
		})
	}
	for name, g := range needFacts {
		t.Run(name+"/NilFacts", func(t *testing.T) {
			t.Parallel()
			if _, err := g.Check(t.Context(), attempt(), nil); !errors.Is(err, gate.ErrNilFacts) {
				t.Errorf("Check(nil facts) error = %v, want ErrNilFacts", err)
			}
		})
	}
}
