package gate_test

import (
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
)

func TestDistinctActor(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.DistinctActor("step-completed", "weighed"))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "distinct-actor", Code: code, Message: msg}
	}
	history := func(es ...gate.Event) func(*fakeFacts) {
		return func(f *fakeFacts) { f.history["batch-B42"] = es }
	}
	verify := func(a *gate.Attempt) { a.Transition.Command = "verify-step" }
	earlier := now.Add(-time.Hour)
	runChecks(t, g, []checkCase{
		{name: "Pass", attempt: verify},
		{
			// Events of other types do not count: alice may start what she verifies.
			name:    "PassOtherEventTypes",
			attempt: verify,
			facts:   history(gate.Event{Type: "step-started", Actor: "alice", Time: earlier}),
		},
		{
			name:    "ActorMissing",
			attempt: func(a *gate.Attempt) { a.Actor = "" },
			want: []gate.Reason{reason(gate.CodeActorMissing,
				"the attempt names no actor, so it cannot be told apart from earlier ones")},
		},
		{
			name:    "SubjectMissing",
			attempt: func(a *gate.Attempt) { a.Subject = "" },
			want: []gate.Reason{reason(gate.CodeSubjectMissing,
				"the attempt names no subject whose history could be checked")},
		},
		{
			name:    "SubjectUnknown",
			attempt: func(a *gate.Attempt) { a.Subject = "batch-B99" },
			want:    []gate.Reason{reason(gate.CodeSubjectUnknown, "batch-B99 is not known")},
		},
		{
			name:    "SelfVerification",
			attempt: verify,
			facts: history(
				gate.Event{Type: "step-completed", Actor: "bob", Time: earlier},
				gate.Event{Type: "step-completed", Actor: "alice", Time: earlier.Add(time.Minute)},
				gate.Event{Type: "step-completed", Actor: "alice", Time: earlier.Add(2 * time.Minute)},
			),
			want: []gate.Reason{reason(gate.CodeSameActor,
				"alice recorded step-completed on batch-B42 at 2026-06-15T09:01:00Z, so another person must verify-step")},
		},
		{
			name:    "OneReasonPerEventType",
			attempt: verify,
			facts: history(
				gate.Event{Type: "weighed", Actor: "alice", Time: earlier},
				gate.Event{Type: "step-completed", Actor: "alice", Time: earlier.Add(time.Minute)},
			),
			want: []gate.Reason{
				reason(gate.CodeSameActor,
					"alice recorded step-completed on batch-B42 at 2026-06-15T09:01:00Z, so another person must verify-step"),
				reason(gate.CodeSameActor,
					"alice recorded weighed on batch-B42 at 2026-06-15T09:00:00Z, so another person must verify-step"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "distinct-actor: history of batch-B42: store offline",
		},
	})
}

func TestDistinctActorRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"NoTypes":   func() (gate.Gate, error) { return gate.DistinctActor() },
		"EmptyType": func() (gate.Gate, error) { return gate.DistinctActor("approved", "") },
	}, map[string]string{
		"NoTypes":   "gate: DistinctActor: no event types",
		"EmptyType": "gate: DistinctActor: an event type is empty",
	})
}
