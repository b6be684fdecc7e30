package mes_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// signing is an engine with a Signer whose authenticator records every
// attempt in the audit trail.
type signing struct {
	e     *mes.Engine
	s     storage.Store
	auth  *signature.PasswordAuthenticator
	pub   ed25519.PublicKey
	facts *facts
}

const testSecret = "correct horse battery"

func newSigning(tb testing.TB, s storage.Store, people ...string) *signing {
	tb.Helper()
	ctx := context.Background()
	clock := func() time.Time { return now }
	trail := must[*mes.AuthTrail](tb)(mes.NewAuthTrail(s, mestest.Attestation()))
	auth := must[*signature.PasswordAuthenticator](tb)(signature.NewPasswordAuthenticator(&signature.Config{
		Store: &signature.MemoryCredentials{}, Observer: trail, Clock: clock, MaxFailures: 3,
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32},
	}))
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	signer := must[*signature.Signer](tb)(signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: key, Clock: clock}))
	e := must[*mes.Engine](tb)(mes.New(s, &mes.Config{Clock: clock, Signer: signer, Attestation: mestest.Attestation()}))
	for _, p := range people {
		if err := auth.SetCredential(ctx, "admin", p, "Person "+p, signature.NewSecret(testSecret)); err != nil {
			tb.Fatal(err)
		}
	}
	return &signing{e: e, s: s, auth: auth, pub: pub, facts: plant(tb, e)}
}

func full(user string) signature.Challenge {
	return signature.Challenge{UserID: user, Secret: signature.NewSecret(testSecret)}
}

// verifyModel is a step whose verification needs a second person holding
// the qa role; dual needs two distinct signers.
func verifyModel(tb testing.TB, count int) *mes.Model {
	return must[*mes.Model](tb)(mes.NewModel("checked-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete, lifecycle.StepVerified).
		Initial(lifecycle.StepPending).Final(lifecycle.StepVerified).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started")).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed")).
		Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, mes.Recording("step.verified"), mes.WithSignatures(mes.SignatureRequirement{
			Meaning: "verified", Count: count, Roles: []string{"qa"}, NotPerformer: true, DistinctSigners: count > 1})).
		Build())
}

func (sg *signing) completeStep(t *testing.T, m *mes.Model, subject string) {
	t.Helper()
	for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
		if _, err := sg.e.Execute(context.Background(), mes.Request{ID: subject + string(c), Model: m, Subject: subject,
			Step: "S10", Command: c, Actor: "op-7"}); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
}

// TestSignedVerification: a second person's signature verifies the step; it
// is recorded right after the transition, bound to its exact payload, and
// verifies with the system key.
func TestSignedVerification(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		sg := newSigning(t, s, "qa-3", "op-7")
		m := verifyModel(t, 1)
		sg.completeStep(t, m, "batch-B42")
		out, err := sg.e.Execute(ctx, mes.Request{ID: "v1", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdVerify,
			Actor: "qa-3", Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3"), Reason: "checked the weight"}}})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if out.To != lifecycle.StepVerified || len(out.Records) != 2 || out.Records[1].Type != event.SignatureApplied || len(out.Signatures) != 1 || len(out.Sessions) != 1 {
			t.Fatalf("outcome %+v: want the verification and one signature record", out)
		}
		man := out.Signatures[0].Manifestation
		if man.SignerID != "qa-3" || man.PrintedName != "Person qa-3" || man.Meaning != signature.Verified || !man.Time.Equal(now) {
			t.Errorf("manifestation %+v", man)
		}
		recs, err := s.Load(ctx, "batch-B42", 1)
		if err != nil {
			t.Fatal(err)
		}
		checks := mes.VerifySignatures(recs, sg.pub)
		if len(checks) != 1 || checks[0].Err != nil || checks[0].Signs != out.Records[0].Version {
			t.Fatalf("VerifySignatures = %+v; want one valid signature of v%d", checks, out.Records[0].Version)
		}
		// A second signing within the session presents the secret alone.
		sg.completeStep(t, m, "batch-B43")
		out, err = sg.e.Execute(ctx, mes.Request{ID: "v2", Model: m, Subject: "batch-B43", Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: signature.Challenge{Session: out.Sessions[0].ID, Secret: signature.NewSecret(testSecret)}}}})
		if err != nil || out.Sessions[0].Components != 1 {
			t.Fatalf("verify within the session: %+v, %v", out, err)
		}
		// Replaying the command returns its records, signature included,
		// and signs nothing again.
		again, err := sg.e.Execute(ctx, mes.Request{ID: "v2", Model: m, Subject: "batch-B43", Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}})
		if err != nil || !again.Replayed || len(again.Records) != 2 || len(again.Signatures) != 0 {
			t.Fatalf("replay: %+v, %v", again, err)
		}
	})
}

// TestSignatureDenials: each way a signature can fail denies the command,
// leaves the state as it was and records the attempt with its code.
func TestSignatureDenials(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		count int
		actor string
		sigs  []mes.Sign
		want  gate.Code
	}{
		{"none given", 1, "qa-3", nil, mes.CodeSignatureMissing},
		{"self-verification by the performer", 1, "op-7", []mes.Sign{{Meaning: "verified", Challenge: full("op-7")}}, mes.CodeSignatureSelf},
		{"signer without the role", 1, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("op-9")}}, mes.CodeSignatureRole},
		{"signer the plant does not know", 1, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("op-8")}}, mes.CodeSignerUnknown},
		{"wrong secret", 1, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret("wrong secret!")}}}, mes.CodeSignatureNotAuthenticated},
		{"unknown signer", 1, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("nobody")}}, mes.CodeSignatureNotAuthenticated},
		{"meaning not asked for", 1, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}, {Meaning: "approved", Challenge: full("qa-4")}}, mes.CodeSignatureUnexpected},
		{"dual verification by one person", 2, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}, {Meaning: "verified", Challenge: full("qa-3")}}, mes.CodeSignatureNotDistinct},
		{"dual verification with one signature", 2, "qa-3", []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}, mes.CodeSignatureMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sg := newSigning(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}), "qa-3", "qa-4", "op-7", "op-8", "op-9")
			sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
			// op-9 is known, without a role; op-8 holds a credential only.
			sg.facts.run("person", event.PersonStream("op-9"), mes.CmdRegister, map[string]string{"name": "Otto Outsider"})
			sg.facts.run("person", event.PersonStream("qa-4"), mes.CmdGrantRole, map[string]string{"role": "qa"})
			m := verifyModel(t, tc.count)
			sg.completeStep(t, m, "batch-B42")
			before, _ := sg.s.Load(ctx, "batch-B42", 1)
			out, err := sg.e.Execute(ctx, mes.Request{ID: "v", Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdVerify, Actor: tc.actor, Signatures: tc.sigs})
			var de *mes.DeniedError
			if !errors.As(err, &de) || !hasCode(de.Reasons, tc.want) {
				t.Fatalf("error = %v; want a denial with %s", err, tc.want)
			}
			after, _ := sg.s.Load(ctx, "batch-B42", 1)
			if len(after) != len(before)+1 || after[len(after)-1].Type != event.Denied || !strings.Contains(string(after[len(after)-1].Payload), string(tc.want)) {
				t.Fatalf("the record gained %d records, last %+v; want one denied attempt with %s", len(after)-len(before), after[len(after)-1], tc.want)
			}
			if st, _ := mes.Fold(m, "S10", after); st != lifecycle.StepComplete || out.To != lifecycle.StepComplete {
				t.Errorf("state %s / outcome %s; want complete", st, out.To)
			}
			if len(mes.VerifySignatures(after, sg.pub)) != 0 {
				t.Error("a denied command left a signature on the record")
			}
		})
	}
}

// TestFailedSigningOnTheTrail: every failed signing attempt is on the audit
// trail, and the third failure locks the user out even with the right
// secret, which is recorded too.
func TestFailedSigningOnTheTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sg := newSigning(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}), "qa-3")
	m := verifyModel(t, 1)
	sg.completeStep(t, m, "batch-B42")
	bad := signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret("not the secret")}
	for i, c := range []signature.Challenge{bad, bad, bad, full("qa-3")} {
		_, err := sg.e.Execute(ctx, mes.Request{ID: "v" + string(rune('0'+i)), Model: m, Subject: "batch-B42", Step: "S10", Command: mes.CmdVerify,
			Actor: "qa-3", Signatures: []mes.Sign{{Meaning: "verified", Challenge: c}}})
		var de *mes.DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, mes.CodeSignatureNotAuthenticated) {
			t.Fatalf("attempt %d: %v; want a denial", i, err)
		}
	}
	trail, err := sg.s.Load(ctx, event.AuthStream("qa-3"), 1)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range trail {
		kinds = append(kinds, strings.TrimPrefix(r.Type, event.AuthPrefix))
	}
	want := "credential_set authentication_failed authentication_failed authentication_failed locked_out authentication_failed"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("auth trail of qa-3:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(string(trail[len(trail)-1].Payload), `"reason":"locked_out"`) {
		t.Errorf("last attempt %s; want it refused as locked out", trail[len(trail)-1].Payload)
	}
}

// TestSignatureBoundToRecord: a signature copied onto another record, or
// kept with content that changed, fails verification.
func TestSignatureBoundToRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sg := newSigning(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}), "qa-3")
	m := verifyModel(t, 1)
	for _, b := range []string{"batch-B42", "batch-B43"} {
		sg.completeStep(t, m, b)
		if _, err := sg.e.Execute(ctx, mes.Request{ID: "v-" + b, Model: m, Subject: b, Step: "S10", Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := sg.s.Load(ctx, "batch-B42", 1)
	b, _ := sg.s.Load(ctx, "batch-B43", 1)
	// B43's signature record, copied into B42's records in place of B42's.
	moved := append(a[:len(a)-1:len(a)-1], b[len(b)-1])
	moved[len(moved)-1].Stream = "batch-B42"
	if c := mes.VerifySignatures(moved, sg.pub); len(c) != 1 || !errors.Is(c[0].Err, signature.ErrWrongRecord) {
		t.Errorf("moved signature: %+v; want ErrWrongRecord", c)
	}
	// The signed record's payload altered (the step's "to" state).
	altered := append([]audit.Record(nil), a...)
	signedAt := len(altered) - 2
	altered[signedAt].Payload = []byte(strings.Replace(string(altered[signedAt].Payload), `"to":"verified"`, `"to":"complete"`, 1))
	if c := mes.VerifySignatures(altered, sg.pub); len(c) != 1 || !errors.Is(c[0].Err, signature.ErrContentMismatch) {
		t.Errorf("altered content: %+v; want ErrContentMismatch", c)
	}
	if c := mes.VerifySignatures(a, ed25519.PublicKey(make([]byte, ed25519.PublicKeySize))); len(c) != 1 || !errors.Is(c[0].Err, signature.ErrBadSeal) {
		t.Errorf("wrong key: %+v; want ErrBadSeal", c)
	}
}
