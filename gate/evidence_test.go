package gate_test

import (
	"testing"

	"github.com/interlock-mes/interlock/gate"
)

// dropEvidence removes the evidence of that name from the attempt.
func dropEvidence(name string) func(*gate.Attempt) {
	return func(a *gate.Attempt) {
		kept := a.Evidence[:0]
		for _, e := range a.Evidence {
			if e.Name != name {
				kept = append(kept, e)
			}
		}
		a.Evidence = kept
	}
}

// duplicateEvidence adds a second piece of evidence of that name.
func duplicateEvidence(name string) func(*gate.Attempt) {
	return func(a *gate.Attempt) {
		for _, e := range a.Evidence {
			if e.Name == name {
				a.Evidence = append(a.Evidence, e)
				return
			}
		}
	}
}

// editEvidence changes the evidence of that name.
func editEvidence(name string, fn func(*gate.Evidence)) func(*gate.Attempt) {
	return func(a *gate.Attempt) {
		for i := range a.Evidence {
			if a.Evidence[i].Name == name {
				fn(&a.Evidence[i])
			}
		}
	}
}

func TestEvidencePresent(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.EvidencePresent("lot-scan", gate.FromRef("lot")))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "evidence-present", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{
			name:    "RefMissing",
			attempt: func(a *gate.Attempt) { delete(a.Refs, "lot") },
			want: []gate.Reason{reason(gate.CodeRefMissing,
				`the attempt has no reference "lot" naming the expected identity`)},
		},
		{
			name:    "EvidenceMissing",
			attempt: dropEvidence("lot-scan"),
			want:    []gate.Reason{reason(gate.CodeEvidenceMissing, "the attempt carries no evidence lot-scan")},
		},
		{
			name:    "EvidenceDuplicate",
			attempt: duplicateEvidence("lot-scan"),
			want: []gate.Reason{reason(gate.CodeEvidenceDuplicate,
				"the attempt carries 2 pieces of evidence lot-scan where one is expected")},
		},
		{
			name:    "NoIdentity",
			attempt: editEvidence("lot-scan", func(e *gate.Evidence) { e.Identity = "" }),
			want: []gate.Reason{reason(gate.CodeEvidenceNoIdentity,
				"evidence lot-scan carries no scanned identity; lot-L7 is expected")},
		},
		{
			name:    "IdentityMismatch",
			attempt: editEvidence("lot-scan", func(e *gate.Evidence) { e.Identity = "lot-L8" }),
			want: []gate.Reason{reason(gate.CodeIdentityMismatch,
				"evidence lot-scan identifies lot-L8, not lot-L7")},
		},
		{
			// Identities are compared exactly; normalising scans is the
			// engine's job.
			name:    "IdentityOfAnotherCase",
			attempt: editEvidence("lot-scan", func(e *gate.Evidence) { e.Identity = "LOT-L7" }),
			want: []gate.Reason{reason(gate.CodeIdentityMismatch,
				"evidence lot-scan identifies LOT-L7, not lot-L7")},
		},
	})
}

func TestEvidencePresentFixedIdentity(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.EvidencePresent("scale-scan", gate.Literal("SC-01")))
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{
			name:    "IdentityMismatch",
			attempt: editEvidence("scale-scan", func(e *gate.Evidence) { e.Identity = "SC-02" }),
			want: []gate.Reason{{Gate: "evidence-present", Code: gate.CodeIdentityMismatch,
				Message: "evidence scale-scan identifies SC-02, not SC-01"}},
		},
	})
}

func TestEvidencePresentRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptyName":    func() (gate.Gate, error) { return gate.EvidencePresent("", gate.FromRef("lot")) },
		"ZeroID":       func() (gate.Gate, error) { return gate.EvidencePresent("lot-scan", gate.ID{}) },
		"ItselfAsID":   func() (gate.Gate, error) { return gate.EvidencePresent("lot-scan", gate.FromEvidence("lot-scan")) },
		"EveryProblem": func() (gate.Gate, error) { return gate.EvidencePresent("", gate.Literal("")) },
	}, map[string]string{
		"EmptyName":    "gate: EvidencePresent: name is empty",
		"ItselfAsID":   `gate: EvidencePresent: evidence "lot-scan" is compared with itself`,
		"EveryProblem": "gate: EvidencePresent: name is empty\ngate: EvidencePresent: literal id is empty",
	})
}

func TestRequireSource(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.RequireSource("net-weight", gate.SourceDevice, gate.SourceSystem))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "require-source", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassOtherAllowedSource", attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Source = gate.SourceSystem })},
		{
			name:    "EvidenceMissing",
			attempt: dropEvidence("net-weight"),
			want:    []gate.Reason{reason(gate.CodeEvidenceMissing, "the attempt carries no evidence net-weight")},
		},
		{
			name:    "EvidenceDuplicate",
			attempt: duplicateEvidence("net-weight"),
			want: []gate.Reason{reason(gate.CodeEvidenceDuplicate,
				"the attempt carries 2 pieces of evidence net-weight where one is expected")},
		},
		{
			name:    "ManualEntry",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Source = gate.SourceManual }),
			want: []gate.Reason{reason(gate.CodeSourceNotAllowed,
				"evidence net-weight came from manual; only device or system is accepted")},
		},
		{
			name:    "SourceNotSaid",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Source = "" }),
			want: []gate.Reason{reason(gate.CodeSourceNotAllowed,
				"evidence net-weight does not say where it came from; only device or system is accepted")},
		},
	})
}

func TestRequireSourceRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptyName":   func() (gate.Gate, error) { return gate.RequireSource("", gate.SourceDevice) },
		"NoSources":   func() (gate.Gate, error) { return gate.RequireSource("net-weight") },
		"EmptySource": func() (gate.Gate, error) { return gate.RequireSource("net-weight", "") },
	}, map[string]string{
		"EmptyName":   "gate: RequireSource: name is empty",
		"NoSources":   "gate: RequireSource: no sources",
		"EmptySource": "gate: RequireSource: a source is empty",
	})
}

func TestRequireStable(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.RequireStable("net-weight"))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "require-stable", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{
			name:    "EvidenceMissing",
			attempt: dropEvidence("net-weight"),
			want:    []gate.Reason{reason(gate.CodeEvidenceMissing, "the attempt carries no evidence net-weight")},
		},
		{
			name:    "EvidenceDuplicate",
			attempt: duplicateEvidence("net-weight"),
			want: []gate.Reason{reason(gate.CodeEvidenceDuplicate,
				"the attempt carries 2 pieces of evidence net-weight where one is expected")},
		},
		{
			name:    "Unstable",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Stable = false }),
			want: []gate.Reason{reason(gate.CodeUnstable,
				"evidence net-weight from instrument SC-01 was not stable")},
		},
		{
			name:    "UnstableWithoutInstrument",
			attempt: editEvidence("net-weight", func(e *gate.Evidence) { e.Stable, e.Instrument = false, "" }),
			want:    []gate.Reason{reason(gate.CodeUnstable, "evidence net-weight was not reported stable")},
		},
	})
}

func TestRequireStableRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"EmptyName": func() (gate.Gate, error) { return gate.RequireStable("") },
	}, map[string]string{
		"EmptyName": "gate: RequireStable: name is empty",
	})
}
