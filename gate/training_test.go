package gate_test

import (
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
)

func TestTrainingCurrent(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.TrainingCurrent("dispensing"))
	setUntil := func(until time.Time) func(*fakeFacts) {
		return func(f *fakeFacts) { f.people["alice"].Training["dispensing"] = until }
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassOneNanosecondBeforeExpiry", facts: setUntil(now.Add(time.Nanosecond))},
		{
			name:    "ActorMissing",
			attempt: func(a *gate.Attempt) { a.Actor = "" },
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodeActorMissing,
				Message: "the attempt names no actor whose training for dispensing could be checked"}},
		},
		{
			name:    "TimeMissing",
			attempt: func(a *gate.Attempt) { a.Time = time.Time{} },
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodeTimeMissing,
				Message: "the attempt has no time at which to check training for dispensing"}},
		},
		{
			name:    "PersonUnknown",
			attempt: func(a *gate.Attempt) { a.Actor = "mallory" },
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodePersonUnknown,
				Message: "person mallory is not known"}},
		},
		{
			name:  "TrainingMissing",
			facts: func(f *fakeFacts) { delete(f.people["alice"].Training, "dispensing") },
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodeTrainingMissing,
				Message: "alice has no training for dispensing"}},
		},
		{
			// Valid-until is exclusive: at that very instant training has run out.
			name:  "ExpiredAtTheInstant",
			facts: setUntil(now),
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodeTrainingExpired,
				Message: "alice's training for dispensing expired on 2026-06-15T10:00:00Z"}},
		},
		{
			name:  "ExpiredEarlier",
			facts: setUntil(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)),
			want: []gate.Reason{{Gate: "training-current", Code: gate.CodeTrainingExpired,
				Message: "alice's training for dispensing expired on 2026-06-01"}},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "training-current: person alice: store offline",
		},
	})
}

func TestTrainingCurrentRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptySkill": func() (gate.Gate, error) { return gate.TrainingCurrent("") },
	}, map[string]string{
		"EmptySkill": "gate: TrainingCurrent: skill is empty",
	})
}
