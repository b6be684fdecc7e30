package gate_test

import (
	"testing"

	"github.com/interlock-mes/interlock/gate"
)

// TestIDFromEvidence covers every reason an ID read from evidence can give,
// through the gate that reads a lot.
func TestIDFromEvidence(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.LotUsable(gate.FromEvidence("lot-scan")))
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "lot-usable", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
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
				"evidence lot-scan carries no scanned identity of the lot")},
		},
	})
}

func TestIDString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   gate.ID
		want string
	}{
		{gate.FromRef("lot"), `reference "lot"`},
		{gate.FromEvidence("lot-scan"), `identity of evidence "lot-scan"`},
		{gate.Literal("SC-01"), `"SC-01"`},
		{gate.ID{}, "no id"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
