package mes_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestCheckSigner: before anyone signs, a screen asks whether the person
// at it could sign what the command needs; the engine answers with the
// reasons a signature would be refused for when given, and writes
// nothing.
func TestCheckSigner(t *testing.T) {
	t.Parallel()
	env := mestest.New(t, nil).Plant()
	ctx := context.Background()
	m := mestest.Must[*mes.Model](t)(mes.NewModel("signed", 1).
		States("pending", "running", "done", "approved").Initial("pending").Final("approved").
		Permit("pending", mes.CmdStart, "running").
		Permit("running", mes.CmdComplete, "done").
		Permit("done", mes.CmdVerify, "approved", mes.WithSignatures(
			mes.SignatureRequirement{Meaning: "verified", Count: 1, Roles: []string{"qa", "supervisor"}, NotPerformer: true},
			mes.SignatureRequirement{Meaning: "approved", Count: 1, Roles: []string{"qa"}, NotActor: true})).
		Build())
	for i, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
		mestest.Must[*mes.Outcome](t)(env.Engine.Execute(ctx, mes.Request{ID: "run-" + string(rune('a'+i)), Model: m, Subject: "order/O1",
			Step: "S10", Command: c, Actor: "op-7"}))
	}
	before := mestest.Must[int](t)(func() (int, error) { r, err := env.Store.Load(ctx, "order/O1", 1); return len(r), err }())
	codes := func(v *mes.Verdict) []gate.Code {
		var out []gate.Code
		for _, r := range v.Reasons {
			out = append(out, r.Code)
		}
		slices.Sort(out)
		return out
	}
	req := mes.Request{Model: m, Subject: "order/O1", Step: "S10", Command: mes.CmdVerify, Actor: "sv-1"}
	for _, c := range []struct {
		signer string
		want   []gate.Code
	}{
		// qa-3 took no part and does not give the command: allowed.
		{"qa-3", nil},
		// op-7 did the work and holds neither role.
		{"op-7", []gate.Code{mes.CodeSignatureRole, mes.CodeSignatureRole, mes.CodeSignatureSelf}},
		// sv-1 gives the command: may verify, not also approve, and is not QA.
		{"sv-1", []gate.Code{mes.CodeSignatureRole, mes.CodeSignatureSelf}},
		// Someone the plant does not know.
		{"nobody", []gate.Code{mes.CodeSignerUnknown, mes.CodeSignerUnknown}},
	} {
		v, err := env.Engine.CheckSigner(ctx, req, c.signer)
		if err != nil {
			t.Fatalf("%s: %v", c.signer, err)
		}
		want := slices.Clone(c.want)
		slices.Sort(want)
		if got := codes(v); !slices.Equal(got, want) || v.Allowed != (len(want) == 0) || len(v.Signatures) != 2 {
			t.Errorf("%s: allowed %v, reasons %v; want %v", c.signer, v.Allowed, v.Reasons, want)
		}
	}
	// The gates still judge: another command's reasons come with the signer's.
	v, err := env.Engine.CheckSigner(ctx, mes.Request{Model: m, Subject: "order/O1", Step: "S10", Command: mes.CmdStart, Actor: "sv-1"}, "qa-3")
	if err != nil || v.Allowed || !slices.Contains(codes(v), mes.CodeIllegalTransition) {
		t.Errorf("an illegal command: %+v, %v", v, err)
	}
	if _, err := env.Engine.CheckSigner(ctx, req, ""); !errors.Is(err, interlock.ErrInvalid) {
		t.Errorf("no signer: %v", err)
	}
	after := mestest.Must[int](t)(func() (int, error) { r, err := env.Store.Load(ctx, "order/O1", 1); return len(r), err }())
	if after != before {
		t.Errorf("CheckSigner wrote %d records", after-before)
	}
}
