package mes_test

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/event"
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
		keys := mestest.Attestation()
		creds := mestest.Must[*mes.Credentials](t)(mes.NewCredentials(s, keys))
		trail := mestest.Must[*mes.AuthTrail](t)(mes.NewAuthTrail(s, keys))
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
