package route

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
)

func routeDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func routeDecPtr(s string) *decimal.Decimal {
	d := routeDec(s)
	return &d
}

// routeFixture is a valid route using every kind of requirement and branch:
// dispense with a re-weigh loop, then a pH check that opens a deviation
// when out of range.
func routeFixture() *Route {
	return &Route{
		Product: "P-100",
		Version: 1,
		Operations: []Operation{
			{ID: "OP10", Name: "Dispensing", Steps: []Step{
				{ID: "S10", Instructions: "Scan the API lot.", Requirements: []Requirement{
					ScanLot{Name: "api-lot", Material: "API-100"},
				}},
				{ID: "S20", Instructions: "Weigh 12.5 kg of API.", Requirements: []Requirement{
					Weigh{Name: "net-weight", Material: "API-100", Target: routeDec("12.50"), Below: routeDec("0.05"), Above: routeDec("0.05"),
						Unit: "kg", Bounds: gate.Inclusive, InstrumentClass: "floor-scale-10g", RequireDevice: true},
					SecondPersonVerification{Meaning: "verified", Roles: []string{"qa", "supervisor"}},
				}, Branches: []Branch{
					{When: &Condition{Value: "net-weight", Outside: &Range{Min: routeDec("12.45"), Max: routeDec("12.55")}}, GoTo: "S25"},
					{GoTo: "S30"},
				}},
				{ID: "S25", Instructions: "Return the excess and weigh again.", Branches: []Branch{{GoTo: "S20"}}},
			}},
			{ID: "OP20", Name: "Blending", Steps: []Step{
				{ID: "S30", Instructions: "Blend and record the pH.", Requirements: []Requirement{
					RecordValue{Name: "ph", Min: routeDecPtr("0"), Max: routeDecPtr("14")},
					RecordValue{Name: "appearance"},
				}, Branches: []Branch{
					{When: &Condition{Value: "appearance", Equals: "cloudy"}, OpenException: "deviation"},
					{When: &Condition{Value: "ph", Outside: &Range{Min: routeDec("6.5"), Max: routeDec("7.5")}}, OpenException: "deviation"},
				}},
				{ID: "S40", Instructions: "Discharge into drums."},
			}},
		},
	}
}

func TestRouteValidateFixture(t *testing.T) {
	t.Parallel()
	if err := routeFixture().Validate(); err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

// TestRouteValidateProblems breaks the fixture one way per case and checks
// the exact problems reported; the last case breaks it many ways at once and
// expects all of them.
func TestRouteValidateProblems(t *testing.T) {
	t.Parallel()
	s20 := "operations[0].steps[1] (S20)"
	tests := []struct {
		name   string
		change func(r *Route)
		want   []Problem
	}{
		{"no product", func(r *Route) { r.Product = "" },
			[]Problem{{What: "the route names no product"}}},
		{"slash in product", func(r *Route) { r.Product = "P/1" },
			[]Problem{{What: `product "P/1" contains '/', which separates the parts of a route stream id`}}},
		{"version 0", func(r *Route) { r.Version = 0 },
			[]Problem{{What: "version 0: versions start at 1"}}},
		{"no operations", func(r *Route) { r.Operations = nil },
			[]Problem{{What: "the route has no operations"}}},
		{"empty operation", func(r *Route) { r.Operations = append(r.Operations, Operation{ID: "OP30"}) },
			[]Problem{{Where: "operations[2] (OP30)", What: "the operation has no steps"}}},
		{"operation without id", func(r *Route) { r.Operations[1].ID = "" },
			[]Problem{{Where: "operations[1]", What: "the operation has no id"}}},
		{"duplicate operation", func(r *Route) { r.Operations[1].ID = "OP10" },
			[]Problem{{Where: "operations[1] (OP10)", What: `operation id "OP10" is used twice`}}},
		{"duplicate step", func(r *Route) { r.Operations[1].Steps[1].ID = "S10" },
			[]Problem{{Where: "operations[1].steps[1] (S10)", What: `step id "S10" is used twice`}}},
		{"step without id", func(r *Route) { r.Operations[1].Steps[1].ID = "" },
			[]Problem{{Where: "operations[1].steps[1]", What: "the step has no id"}}},
		{"no instructions", func(r *Route) { r.Operations[0].Steps[0].Instructions = "  " },
			[]Problem{{Where: "operations[0].steps[0] (S10)", What: "the step has no instructions"}}},
		{"nil requirement", func(r *Route) {
			r.Operations[0].Steps[0].Requirements = append(r.Operations[0].Steps[0].Requirements, nil)
		},
			[]Problem{{Where: "operations[0].steps[0] (S10).requirements[1]", What: "the requirement is nil"}}},
		{"scan without material or name", func(r *Route) { r.Operations[0].Steps[0].Requirements[0] = ScanLot{} },
			[]Problem{
				{Where: "operations[0].steps[0] (S10).requirements[0] (scan-lot)", What: "the requirement has no name"},
				{Where: "operations[0].steps[0] (S10).requirements[0] (scan-lot)", What: "the lot scan names no material"},
			}},
		{"name used twice", func(r *Route) {
			r.Operations[0].Steps[0].Requirements = append(r.Operations[0].Steps[0].Requirements, RecordValue{Name: "api-lot"})
		}, []Problem{{Where: "operations[0].steps[0] (S10).requirements[1] (record-value)", What: `name "api-lot" is used twice in the step`}}},
		{"bad tolerance", func(r *Route) {
			r.Operations[0].Steps[1].Requirements[0] = Weigh{Name: "net-weight", Target: routeDec("1"), Below: routeDec("2"), Above: routeDec("-1"), Bounds: "open"}
		}, []Problem{
			{Where: s20 + ".requirements[0] (weigh)", What: "tolerance above the target is negative (-1)"},
			{Where: s20 + ".requirements[0] (weigh)", What: "the lower limit 1−2 is below zero"},
			{Where: s20 + ".requirements[0] (weigh)", What: "the weighing has no unit"},
			{Where: s20 + ".requirements[0] (weigh)", What: `bounds "open": want "inclusive" or "exclusive"`},
		}},
		{"zero target, negative below", func(r *Route) {
			r.Operations[0].Steps[1].Requirements[0] = Weigh{Name: "net-weight", Below: routeDec("-1"), Unit: "kg", Bounds: gate.Inclusive}
		}, []Problem{
			{Where: s20 + ".requirements[0] (weigh)", What: "target 0 is not positive"},
			{Where: s20 + ".requirements[0] (weigh)", What: "tolerance below the target is negative (-1)"},
		}},
		{"exclusive with no tolerance", func(r *Route) {
			r.Operations[0].Steps[1].Requirements[0] = Weigh{Name: "net-weight", Target: routeDec("5"), Unit: "kg", Bounds: gate.Exclusive}
		}, []Problem{{Where: s20 + ".requirements[0] (weigh)", What: "bounds are exclusive and both tolerances are zero, so no weight is accepted"}}},
		{"record value min above max", func(r *Route) {
			r.Operations[1].Steps[0].Requirements[0] = RecordValue{Name: "ph", Min: routeDecPtr("14"), Max: routeDecPtr("0")}
		}, []Problem{{Where: "operations[1].steps[0] (S30).requirements[0] (record-value)", What: "Min 14 is above Max 0"}}},
		{"quantities too large to compare", func(r *Route) {
			r.Operations[0].Steps[1].Requirements[0] = Weigh{Name: "net-weight", Target: decimal.New(1, 999999999), Below: routeDec("1"),
				Above: decimal.New(1, -200), Unit: "kg", Bounds: gate.Inclusive}
			r.Operations[0].Steps[1].Branches[0].When.Outside.Max = decimal.New(5, 1000)
		}, []Problem{
			{Where: s20 + ".requirements[0] (weigh)", What: "Above is out of range for a quantity (exponent -200, at most 100 digits and exponents within ±100)"},
			{Where: s20 + ".requirements[0] (weigh)", What: "Target is out of range for a quantity (exponent 999999999, at most 100 digits and exponents within ±100)"},
			{Where: s20 + ".branches[0]", What: "Max is out of range for a quantity (exponent 1000, at most 100 digits and exponents within ±100)"},
		}},
		{"verification without meaning", func(r *Route) {
			r.Operations[0].Steps[1].Requirements[1] = SecondPersonVerification{Roles: []string{""}}
		}, []Problem{
			{Where: s20 + ".requirements[1] (second-person)", What: "the verification has no meaning"},
			{Where: s20 + ".requirements[1] (second-person)", What: "a verifier role is empty"},
		}},
		{"unknown step in a branch", func(r *Route) { r.Operations[0].Steps[1].Branches[1].GoTo = "S99" },
			[]Problem{{Where: s20 + ".branches[1]", What: `goes to unknown step "S99"`}}},
		{"branch with no target", func(r *Route) { r.Operations[0].Steps[1].Branches[1].GoTo = "" },
			[]Problem{{Where: s20 + ".branches[1]", What: "the branch neither goes to a step nor opens an exception"}}},
		{"branch with two targets", func(r *Route) { r.Operations[0].Steps[1].Branches[1].OpenException = "deviation" },
			[]Problem{{Where: s20 + ".branches[1]", What: `the branch both goes to step "S30" and opens exception "deviation"`}}},
		{"condition on an unrecorded value", func(r *Route) { r.Operations[0].Steps[1].Branches[0].When.Value = "ph" },
			[]Problem{{Where: s20 + ".branches[0]", What: `the condition tests value "ph", which the step does not record`}}},
		{"condition without value or test", func(r *Route) { r.Operations[0].Steps[1].Branches[0].When = &Condition{} },
			[]Problem{
				{Where: s20 + ".branches[0]", What: "the condition names no value"},
				{Where: s20 + ".branches[0]", What: "the condition has neither Equals nor Outside"},
			}},
		{"condition with both tests", func(r *Route) { r.Operations[0].Steps[1].Branches[0].When.Equals = "12.5" },
			[]Problem{{Where: s20 + ".branches[0]", What: "the condition has both Equals and Outside"}}},
		{"inverted range", func(r *Route) {
			r.Operations[0].Steps[1].Branches[0].When.Outside = &Range{Min: routeDec("13"), Max: routeDec("12")}
		}, []Problem{{Where: s20 + ".branches[0]", What: "range Min 13 is above Max 12"}}},
		{"branch after an unconditional one", func(r *Route) {
			r.Operations[0].Steps[1].Branches = append(r.Operations[0].Steps[1].Branches, Branch{GoTo: "S40"})
		}, []Problem{{Where: s20 + ".branches[2]", What: "branch 1 always applies, so this branch is never taken"}}},
		{"unreachable step", func(r *Route) { r.Operations[0].Steps[1].Branches[1].GoTo = "S40" },
			[]Problem{{Where: "step S30", What: `the first step "S10" cannot reach it`}}},
		{"loop that cannot terminate", func(r *Route) { r.Operations[0].Steps[1].Branches[1].GoTo = "S25" },
			[]Problem{
				{Where: "step S30", What: `the first step "S10" cannot reach it`},
				{Where: "step S40", What: `the first step "S10" cannot reach it`},
				{What: "branching loops forever without reaching the end or an exception from step(s) S10, S20, S25"},
			}},
		{"self loop", func(r *Route) { r.Operations[1].Steps[1].Branches = []Branch{{GoTo: "S40"}} },
			[]Problem{{What: "branching loops forever without reaching the end or an exception from step(s) S40"}}},
		{"everything at once", func(r *Route) {
			r.Product, r.Version = "", -1
			r.Operations[1].ID = "OP10"
			r.Operations[0].Steps[0].Requirements[0] = ScanLot{Name: "api-lot"}
			r.Operations[0].Steps[1].Branches[0].When.Value = "ph"
			r.Operations = append(r.Operations, Operation{ID: "OP30"})
		}, []Problem{
			{What: "the route names no product"},
			{What: "version -1: versions start at 1"},
			{Where: "operations[0].steps[0] (S10).requirements[0] (scan-lot)", What: "the lot scan names no material"},
			{Where: s20 + ".branches[0]", What: `the condition tests value "ph", which the step does not record`},
			{Where: "operations[1] (OP10)", What: `operation id "OP10" is used twice`},
			{Where: "operations[2] (OP30)", What: "the operation has no steps"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := routeFixture()
			tt.change(r)
			err := r.Validate()
			var re *Error
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *Error", err)
			}
			if diff := cmp.Diff(tt.want, re.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if _, err := r.Digest(); !errors.Is(err, ErrInvalid) {
				t.Errorf("Digest of an invalid route: error %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRouteErrorMessage(t *testing.T) {
	t.Parallel()
	err := (&Route{Product: "P", Version: 1, Operations: []Operation{{ID: "OP", Steps: []Step{{ID: "S", Instructions: "x",
		Branches: []Branch{{GoTo: "Q"}}}}}}}).Validate()
	want := "route \"P\" v1: 1 problem(s):\n  operations[0].steps[0] (S).branches[0]: goes to unknown step \"Q\""
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
