package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// TestCredentialsOnTheRecord: credentials kept in the store survive a
// restart (a new authenticator on the same store signs with them), a
// lockout reached through one instance holds for another, a signing that
// changes nothing records nothing, and a credential planted around the
// engine is refused.
func TestCredentialsOnTheRecord(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		env := mestest.NewOn(t, s, clock, nil).Plant()
		env.Fact("person", event.PersonStream("qa-4"), mes.CmdRegister, map[string]string{"name": "Quinn QA"})
		keys := env.Attestation
		creds := mestest.Must[*mes.Credentials](t)(mes.NewCredentials(s, keys))
		trail := mestest.Must[*mes.AuthTrail](t)(mes.NewAuthTrail(s, keys))
		if err := trail.Gate(env.Engine, mestest.Must[*mes.Model](t)(mes.PersonModel())); err != nil {
			t.Fatal(err)
		}
		newAuth := func() *signature.PasswordAuthenticator {
			return mestest.Must[*signature.PasswordAuthenticator](t)(signature.NewPasswordAuthenticator(&signature.Config{
				Store: creds, Observer: trail, Clock: clock.Now, MaxFailures: 3,
				Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32},
			}))
		}
		first := newAuth()
		if err := first.SetCredential(ctx, "admin", "qa-3", "Quentin QA", signature.NewSecret("correct horse")); err != nil {
			t.Fatal(err)
		}
		if err := first.SetCredential(ctx, "admin", "qa-4", "Quinn QA", signature.NewSecret("battery staple")); err != nil {
			t.Fatal(err)
		}
		// A restart: a new authenticator, the same store.
		second := newAuth()
		if _, err := second.Authenticate(ctx, signature.Challenge{UserID: "qa-3", Secret: signature.NewSecret("correct horse")}); err != nil {
			t.Fatalf("after a restart: %v", err)
		}
		recs, _ := s.Load(ctx, event.CredentialStream("qa-3"), 1)
		if len(recs) != 1 {
			t.Errorf("%d credential records after a signing that changed nothing, want 1", len(recs))
		}
		for range 3 {
			_, _ = first.Authenticate(ctx, signature.Challenge{UserID: "qa-4", Secret: signature.NewSecret("wrong")})
		}
		if _, err := second.Authenticate(ctx, signature.Challenge{UserID: "qa-4", Secret: signature.NewSecret("battery staple")}); !errors.Is(err, signature.ErrLockedOut) {
			t.Errorf("locked out through one instance, the other: %v; want ErrLockedOut", err)
		}
		// Planted: a credential appended around the engine, unattested.
		_, err := s.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: event.CredentialStream("mallory"),
			Events: []storage.Event{{Type: event.CredentialCreated, Actor: "mallory", Payload: []byte(`{"user":"mallory","printed_name":"M"}`)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ue *mes.UnprovenError
		if _, err := creds.Load(ctx, "mallory"); !errors.As(err, &ue) {
			t.Errorf("a planted credential: %v; want an *UnprovenError", err)
		}
		if _, err := second.Authenticate(ctx, signature.Challenge{UserID: "mallory", Secret: signature.NewSecret("x")}); err == nil {
			t.Error("a planted credential authenticated")
		}
	})
}

// TestCredentialsChangeOnlyThroughGatedCommands: every change of a
// credential's name, secret or lockout is an allowed command on the
// person's record. An administrator sets and unlocks others' credentials,
// never their own; only the person changes their own secret; nobody gets a
// credential without a person record; and a change made straight through
// the store, with no allowed command behind it, is refused (ErrNoGrant).
func TestCredentialsChangeOnlyThroughGatedCommands(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		env := mestest.NewOn(t, s, clock, nil).Plant()
		// admin administers people: give the person model a role gate.
		env.Fact("person", event.PersonStream("admin"), mes.CmdRegister, map[string]string{"name": "Ada Admin"})
		env.Fact("person", event.PersonStream("it-1"), mes.CmdRegister, map[string]string{"name": "Ian IT"})
		// Nobody grants themselves a role: admin makes it-1 an
		// administrator, and it-1 admin.
		env.Fact("person", event.PersonStream("it-1"), mes.CmdGrantRole, map[string]string{"role": "admin"})
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "grant-admin", Model: mestest.Must[*mes.Model](t)(mes.PersonModel()),
			Subject: event.PersonStream("admin"), Command: mes.CmdGrantRole, Actor: "it-1", Data: json.RawMessage(`{"role":"admin"}`)}); err != nil {
			t.Fatal(err)
		}
		_, err := env.Engine.Execute(ctx, mes.Request{ID: "self-grant", Model: mestest.Must[*mes.Model](t)(mes.PersonModel()),
			Subject: event.PersonStream("op-7"), Command: mes.CmdGrantRole, Actor: "op-7", Data: json.RawMessage(`{"role":"qa"}`)})
		if d := (*mes.DeniedError)(nil); !errors.As(err, &d) || d.Reasons[0].Code != mes.CodeSelfAdministration {
			t.Errorf("op-7 grants themself a role: %v; want denied with %s", err, mes.CodeSelfAdministration)
		}
		onlyAdmins := mestest.Must[gate.Gate](t)(gate.RequireRole("admin"))
		person := mestest.Must[*mes.Model](t)(mes.PersonModel(mes.WithGates(onlyAdmins)))
		creds := mestest.Must[*mes.Credentials](t)(mes.NewCredentials(s, env.Attestation))
		trail := mestest.Must[*mes.AuthTrail](t)(mes.NewAuthTrail(s, env.Attestation))
		if err := trail.Gate(env.Engine, person); err != nil {
			t.Fatal(err)
		}
		if err := trail.Gate(env.Engine, person); err == nil {
			t.Error("a second Gate was accepted")
		}
		auth := mestest.Must[*signature.PasswordAuthenticator](t)(signature.NewPasswordAuthenticator(&signature.Config{
			Store: creds, Observer: trail, Clock: clock.Now, MaxFailures: 2,
			Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32},
		}))
		secret := func(s string) signature.Secret { return signature.NewSecret(s) }
		signs := func(user, sec string) bool {
			_, err := auth.Authenticate(ctx, signature.Challenge{UserID: user, Secret: secret(sec)})
			return err == nil
		}
		lastOf := func(stream string) audit.Record {
			recs := mestest.Must[[]audit.Record](t)(s.Load(ctx, stream, 1))
			if len(recs) == 0 {
				t.Fatalf("%s is empty", stream)
			}
			return recs[len(recs)-1]
		}
		deniedWith := func(what string, err error, code gate.Code) {
			t.Helper()
			var d *mes.DeniedError
			if !errors.As(err, &d) {
				t.Fatalf("%s: %v; want a *DeniedError", what, err)
			}
			if !slices.ContainsFunc(d.Reasons, func(r gate.Reason) bool { return r.Code == code }) {
				t.Errorf("%s: reasons %v; want %s", what, d.Reasons, code)
			}
		}

		// An administrator sets op-7's credential: the command is on
		// op-7's record, by admin, and op-7 signs with it.
		if err := auth.SetCredential(ctx, "admin", "op-7", "Olga Operator", secret("first secret")); err != nil {
			t.Fatal(err)
		}
		if r := lastOf(event.PersonStream("op-7")); r.Type != event.PersonCredentialSet || r.Actor != "admin" {
			t.Errorf("op-7's last record is %s by %s; want %s by admin", r.Type, r.Actor, event.PersonCredentialSet)
		}
		if !signs("op-7", "first secret") {
			t.Error("op-7 cannot sign with the credential admin set")
		}
		// Nobody sets their own credential, and one without the role
		// sets nobody's; each refusal is on the record and changes
		// nothing.
		for _, c := range []struct {
			by, user string
			code     gate.Code
		}{{"admin", "admin", mes.CodeSelfAdministration}, {"op-7", "qa-3", gate.CodeRoleMissing}} {
			err := auth.SetCredential(ctx, c.by, c.user, "X", secret("planted secret"))
			deniedWith(c.by+" sets "+c.user+"'s credential", err, c.code)
			if r := lastOf(event.PersonStream(c.user)); r.Type != event.Denied || r.Actor != c.by {
				t.Errorf("after the refusal %s's last record is %s by %s; want %s by %s", c.user, r.Type, r.Actor, event.Denied, c.by)
			}
			if signs(c.user, "planted secret") {
				t.Errorf("%s signs with the credential %s was refused to set", c.user, c.by)
			}
		}
		// No person record, no credential.
		if err := auth.SetCredential(ctx, "admin", "ghost", "G", secret("ghost secret")); !errors.Is(err, mes.ErrDenied) {
			t.Errorf("a credential for someone with no person record: %v; want ErrDenied", err)
		}
		// Straight through the store, with no allowed command behind
		// the change: refused, for a new credential and for a new
		// secret alike (the grant admin's command gave is used up).
		var ge *mes.GrantError
		if err := creds.Create(ctx, signature.Credential{UserID: "sv-1", PrintedName: "S"}); !errors.As(err, &ge) || !errors.Is(err, mes.ErrNoGrant) {
			t.Errorf("a credential created around the commands: %v; want a *GrantError", err)
		}
		planted := mestest.Must[signature.PasswordHash](t)(signature.NewPasswordHash(secret("planted secret"), signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32}))
		if _, err := creds.Update(ctx, "op-7", func(c *signature.Credential) error { c.Hash = planted; return nil }); !errors.Is(err, mes.ErrNoGrant) {
			t.Errorf("a secret changed around the commands: %v; want ErrNoGrant", err)
		}
		if signs("op-7", "planted secret") || !signs("op-7", "first secret") {
			t.Error("the refused secret change changed the secret")
		}
		// The person changes their own secret; the command is theirs.
		if err := auth.ChangeSecret(ctx, "op-7", secret("first secret"), secret("second secret")); err != nil {
			t.Fatal(err)
		}
		if r := lastOf(event.PersonStream("op-7")); r.Type != event.PersonSecretChanged || r.Actor != "op-7" {
			t.Errorf("op-7's last record is %s by %s; want %s by op-7", r.Type, r.Actor, event.PersonSecretChanged)
		}
		if !signs("op-7", "second secret") || signs("op-7", "first secret") {
			t.Error("the changed secret does not sign, or the old one still does")
		}
		// Locked out by failures (no command needed); unlocked only by
		// another administrator.
		for range 2 {
			signs("op-7", "wrong")
		}
		if signs("op-7", "second secret") {
			t.Fatal("op-7 is not locked out after two failures")
		}
		if _, err := creds.Update(ctx, "op-7", func(c *signature.Credential) error { c.Locked, c.Failures = false, 0; return nil }); !errors.Is(err, mes.ErrNoGrant) {
			t.Errorf("unlocked around the commands: %v; want ErrNoGrant", err)
		}
		deniedWith("op-7 unlocks themself", auth.Unlock(ctx, "op-7", "op-7"), mes.CodeSelfAdministration)
		if err := auth.Unlock(ctx, "it-1", "op-7"); err != nil {
			t.Fatal(err)
		}
		if r := lastOf(event.PersonStream("op-7")); r.Type != event.PersonCredentialUnlocked || r.Actor != "it-1" {
			t.Errorf("op-7's last record is %s by %s; want %s by it-1", r.Type, r.Actor, event.PersonCredentialUnlocked)
		}
		if !signs("op-7", "second secret") {
			t.Error("op-7 cannot sign after it-1 unlocked them")
		}
	})
}
