package gate_test

import (
	"testing"

	"github.com/interlock-mes/interlock/gate"
)

func TestNoOpenException(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.NoOpenException())
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "no-open-exception", Code: code, Message: msg}
	}
	open := func(xs ...gate.Exception) func(*fakeFacts) {
		return func(f *fakeFacts) { f.exceptions["batch-B42"] = xs }
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassNilList", facts: open()},
		{
			name:    "SubjectMissing",
			attempt: func(a *gate.Attempt) { a.Subject = "" },
			want: []gate.Reason{reason(gate.CodeSubjectMissing,
				"the attempt names no subject whose exceptions could be checked")},
		},
		{
			name:    "SubjectUnknown",
			attempt: func(a *gate.Attempt) { a.Subject = "batch-B99" },
			want:    []gate.Reason{reason(gate.CodeSubjectUnknown, "batch-B99 is not known")},
		},
		{
			name:  "ExceptionOpen",
			facts: open(gate.Exception{ID: "DEV-12", Kind: "deviation", Summary: "granulator stopped mid-cycle", Opened: now}),
			want: []gate.Reason{reason(gate.CodeExceptionOpen,
				"deviation DEV-12 is open on batch-B42: granulator stopped mid-cycle")},
		},
		{
			name:  "OneReasonPerException",
			facts: open(gate.Exception{ID: "DEV-12", Kind: "deviation"}, gate.Exception{ID: "X-3"}),
			want: []gate.Reason{
				reason(gate.CodeExceptionOpen, "deviation DEV-12 is open on batch-B42"),
				reason(gate.CodeExceptionOpen, "exception X-3 is open on batch-B42"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "no-open-exception: open exceptions of batch-B42: store offline",
		},
	})
}

func TestNoBlockingException(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.NoBlockingException())
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "no-blocking-exception", Code: code, Message: msg}
	}
	open := func(xs ...gate.Exception) func(*fakeFacts) {
		return func(f *fakeFacts) { f.exceptions["batch-B42"] = xs }
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassWithoutConsequence", facts: open(
			gate.Exception{ID: "DEV-1", Kind: "deviation", Consequence: "none"},
			gate.Exception{ID: "DEV-2", Kind: "deviation"}, // its record does not say
		)},
		{
			name:    "SubjectMissing",
			attempt: func(a *gate.Attempt) { a.Subject = "" },
			want: []gate.Reason{reason(gate.CodeSubjectMissing,
				"the attempt names no subject whose exceptions could be checked")},
		},
		{
			name:    "SubjectUnknown",
			attempt: func(a *gate.Attempt) { a.Subject = "batch-B99" },
			want:    []gate.Reason{reason(gate.CodeSubjectUnknown, "batch-B99 is not known")},
		},
		{
			name: "BlockAndHold",
			facts: open(
				gate.Exception{ID: "DEV-1", Kind: "deviation", Consequence: "none"},
				gate.Exception{ID: "DEV-12", Kind: "deviation", Summary: "granulator stopped mid-cycle", Consequence: gate.ConsequenceBlock},
				gate.Exception{ID: "H-3", Consequence: gate.ConsequenceHold},
			),
			want: []gate.Reason{
				reason(gate.CodeExceptionBlocks, "deviation DEV-12 blocks batch-B42: granulator stopped mid-cycle"),
				reason(gate.CodeExceptionBlocks, "exception H-3 blocks batch-B42"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "no-blocking-exception: open exceptions of batch-B42: store offline",
		},
	})
}
