package signature

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMemoryCredentials(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var s MemoryCredentials
	c := Credential{UserID: "u1", PrintedName: "User One", Hash: PasswordHash{Params: cheapParams, Salt: []byte("salt"), Key: []byte("key")}}

	if _, err := s.Load(ctx, "u1"); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("Load of unknown = %v, want ErrNoCredential", err)
	}
	if _, err := s.Update(ctx, "u1", func(*Credential) error { return nil }); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("Update of unknown = %v, want ErrNoCredential", err)
	}
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c); !errors.Is(err, ErrCredentialExists) {
		t.Fatalf("second Create = %v, want ErrCredentialExists", err)
	}

	got, err := s.Load(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	got.Hash.Key[0] = 'X' // must not reach the store
	if again, _ := s.Load(ctx, "u1"); !cmp.Equal(c, again) {
		t.Errorf("changing a loaded credential changed the store: %+v", again)
	}

	boom := errors.New("boom")
	if _, err := s.Update(ctx, "u1", func(c *Credential) error { c.Failures = 9; return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update with failing fn = %v, want boom", err)
	}
	if _, err := s.Update(ctx, "u1", func(c *Credential) error { c.UserID = "u2"; return nil }); err == nil {
		t.Fatal("Update that renames the user succeeded")
	}
	updated, err := s.Update(ctx, "u1", func(c *Credential) error { c.Failures++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Failures = 1
	if diff := cmp.Diff(want, updated); diff != "" {
		t.Errorf("Update result (-want +got):\n%s", diff)
	}
	if stored, _ := s.Load(ctx, "u1"); !cmp.Equal(want, stored) {
		t.Errorf("stored after Update = %+v, want %+v (a failed fn must write nothing)", stored, want)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Load(cancelled, "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with cancelled context = %v", err)
	}
}
