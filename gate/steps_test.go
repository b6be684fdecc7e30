package gate_test

import (
	"testing"

	"github.com/interlock-mes/interlock/gate"
)

func TestPriorSteps(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.PriorSteps([]gate.StepState{gate.StepComplete, gate.StepVerified}, "S10", "S20"))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "prior-steps", Code: code, Message: msg}
	}
	setSteps := func(steps ...gate.Step) func(*fakeFacts) {
		return func(f *fakeFacts) { f.steps["batch-B42"] = steps }
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{
			// S10 was reopened for rework and completed again: the latest
			// entry counts.
			name: "PassLatestEntryCounts",
			facts: setSteps(
				gate.Step{ID: "S10", State: gate.StepInProgress},
				gate.Step{ID: "S20", State: gate.StepVerified},
				gate.Step{ID: "S10", State: gate.StepComplete},
			),
		},
		{
			name:    "SubjectMissing",
			attempt: func(a *gate.Attempt) { a.Subject = "" },
			want: []gate.Reason{reason(gate.CodeSubjectMissing,
				"the attempt names no subject whose steps could be checked")},
		},
		{
			name:    "SubjectUnknown",
			attempt: func(a *gate.Attempt) { a.Subject = "batch-B99" },
			want:    []gate.Reason{reason(gate.CodeSubjectUnknown, "batch-B99 is not known")},
		},
		{
			name:  "StepMissing",
			facts: setSteps(gate.Step{ID: "S10", State: gate.StepComplete}),
			want: []gate.Reason{reason(gate.CodeStepMissing,
				"step S20 of batch-B42 has not been done; it must be complete or verified first")},
		},
		{
			name: "StepIncomplete",
			facts: setSteps(
				gate.Step{ID: "S10", State: gate.StepInProgress},
				gate.Step{ID: "S20", State: gate.StepVerified},
			),
			want: []gate.Reason{reason(gate.CodeStepIncomplete,
				"step S10 of batch-B42 is in-progress; it must be complete or verified first")},
		},
		{
			// A later entry supersedes: a verified step reopened is not done.
			name: "StepReopened",
			facts: setSteps(
				gate.Step{ID: "S10", State: gate.StepVerified},
				gate.Step{ID: "S20", State: gate.StepVerified},
				gate.Step{ID: "S10", State: gate.StepPending},
			),
			want: []gate.Reason{reason(gate.CodeStepIncomplete,
				"step S10 of batch-B42 is pending; it must be complete or verified first")},
		},
		{
			name:  "EveryStepReported",
			facts: setSteps(gate.Step{ID: "S10"}),
			want: []gate.Reason{
				reason(gate.CodeStepIncomplete,
					"step S10 of batch-B42 is of no recorded status; it must be complete or verified first"),
				reason(gate.CodeStepMissing,
					"step S20 of batch-B42 has not been done; it must be complete or verified first"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "prior-steps: steps of batch-B42: store offline",
		},
	})
}

func TestPriorStepsVerifiedOnly(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.PriorSteps([]gate.StepState{gate.StepVerified}, "S10"))
	runChecks(t, g, []checkCase{{
		name: "CompleteIsNotEnough",
		want: []gate.Reason{{Gate: "prior-steps", Code: gate.CodeStepIncomplete,
			Message: "step S10 of batch-B42 is complete; it must be verified first"}},
	}})
}

func TestPriorStepsRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	done := []gate.StepState{gate.StepComplete}
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"NoStates":   func() (gate.Gate, error) { return gate.PriorSteps(nil, "S10") },
		"EmptyState": func() (gate.Gate, error) { return gate.PriorSteps([]gate.StepState{""}, "S10") },
		"NoSteps":    func() (gate.Gate, error) { return gate.PriorSteps(done) },
		"EmptyStep":  func() (gate.Gate, error) { return gate.PriorSteps(done, "S10", "") },
		"Both":       func() (gate.Gate, error) { return gate.PriorSteps(nil) },
	}, map[string]string{
		"NoStates":   "gate: PriorSteps: no states",
		"EmptyState": "gate: PriorSteps: a state is empty",
		"NoSteps":    "gate: PriorSteps: no steps",
		"EmptyStep":  "gate: PriorSteps: a step id is empty",
		"Both":       "gate: PriorSteps: no states\ngate: PriorSteps: no steps",
	})
}
