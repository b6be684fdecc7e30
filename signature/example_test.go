package signature_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/signature"
)

func Example() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC) }

	// The engine records every attempt on the audit trail; here we print it.
	audit := signature.ObserverFunc(func(_ context.Context, e signature.Event) error {
		if e.Reason != "" {
			fmt.Printf("audit: %s %s (%s)\n", e.Kind, e.UserID, e.Reason)
		} else {
			fmt.Printf("audit: %s %s\n", e.Kind, e.UserID)
		}
		return nil
	})
	auth, err := signature.NewPasswordAuthenticator(&signature.Config{
		Store:    &signature.MemoryCredentials{},
		Observer: audit,
		Clock:    clock,
		Hash:     signature.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, // cheap, for the example only
	})
	if err != nil {
		panic(err)
	}
	if err := auth.SetCredential(ctx, "it-admin", "jdoe", "Jane Doe", signature.NewSecret("correct horse battery")); err != nil {
		panic(err)
	}

	// The system key lives outside the database that stores signatures.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: key, Clock: clock})
	if err != nil {
		panic(err)
	}

	content := []byte(`{"lot":"L-7","net":"12.345","unit":"kg"}`)
	record := signature.RecordRef{Stream: "batch/B-2026-001", Version: 7}
	sig, session, err := signer.Sign(ctx, signature.Request{
		Challenge: signature.Challenge{UserID: "jdoe", Secret: signature.NewSecret("correct horse battery")},
		Meaning:   signature.Verified,
		Content:   content,
		Record:    record,
	})
	if err != nil {
		panic(err)
	}
	m := sig.Manifestation
	fmt.Printf("%s (%s), %s, %s\n", m.PrintedName, m.SignerID, m.Meaning, m.Time.Format(time.RFC3339))

	// Later in the same session the secret alone suffices.
	_, _, err = signer.Sign(ctx, signature.Request{
		Challenge: signature.Challenge{Session: session.ID, Secret: signature.NewSecret("wrong guess")},
		Meaning:   signature.Approved,
		Content:   content,
		Record:    record,
	})
	fmt.Println("wrong secret:", errors.Is(err, signature.ErrWrongSecret))

	pub := signer.PublicKey()
	fmt.Println("verify:", signature.Verify(sig, content, record, pub))
	fmt.Println("altered:", errors.Is(signature.Verify(sig, []byte(`{"net":"99"}`), record, pub), signature.ErrContentMismatch))
	other := signature.RecordRef{Stream: "batch/B-2026-002", Version: 7}
	fmt.Println("moved:", errors.Is(signature.Verify(sig, content, other, pub), signature.ErrWrongRecord))
	// Output:
	// audit: credential_set jdoe
	// audit: authenticated jdoe
	// Jane Doe (jdoe), verified, 2026-03-14T09:30:00Z
	// audit: authentication_failed jdoe (wrong_secret)
	// wrong secret: true
	// verify: <nil>
	// altered: true
	// moved: true
}
