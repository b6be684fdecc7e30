package signature

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Credential is what the system knows about one user's signature
// credential: the identification component (UserID), the name printed on
// their signatures, the hash of the secret component, and the lockout state.
type Credential struct {
	UserID      string
	PrintedName string
	Hash        PasswordHash
	Failures    int  // consecutive failed attempts since the last success or unlock
	Locked      bool // set when Failures reached the limit; cleared only by Unlock
}

func (c Credential) clone() Credential {
	c.Hash.Salt = slices.Clone(c.Hash.Salt)
	c.Hash.Key = slices.Clone(c.Hash.Key)
	return c
}

// Errors of a CredentialStore.
var (
	ErrNoCredential     = errors.New("signature: no credential for user")
	ErrCredentialExists = errors.New("signature: credential already exists")
)

// CredentialStore keeps credentials. MemoryCredentials is the in-process
// implementation; one backed by a database can implement the same three
// methods, with Update in one transaction (SELECT … FOR UPDATE), so that
// failure counts stay exact when several instances share the store.
type CredentialStore interface {
	// Load returns the credential of userID, or an error for which
	// errors.Is(err, ErrNoCredential) is true.
	Load(ctx context.Context, userID string) (Credential, error)
	// Create adds c, or returns an error for which
	// errors.Is(err, ErrCredentialExists) is true.
	Create(ctx context.Context, c Credential) error
	// Update applies fn to the credential of userID atomically and returns
	// the result. If fn returns an error nothing is written and Update
	// returns that error; for an unknown user it returns an error for which
	// errors.Is(err, ErrNoCredential) is true. fn must not change UserID.
	Update(ctx context.Context, userID string, fn func(*Credential) error) (Credential, error)
}

// MemoryCredentials is a CredentialStore in memory, safe for concurrent use.
// The zero value is ready.
type MemoryCredentials struct {
	mu sync.Mutex
	m  map[string]Credential
}

var _ CredentialStore = (*MemoryCredentials)(nil)

// Load implements CredentialStore.
func (s *MemoryCredentials) Load(ctx context.Context, userID string) (Credential, error) {
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[userID]
	if !ok {
		return Credential{}, fmt.Errorf("%w %q", ErrNoCredential, userID)
	}
	return c.clone(), nil
}

// Create implements CredentialStore.
func (s *MemoryCredentials) Create(ctx context.Context, c Credential) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.UserID]; ok {
		return fmt.Errorf("%w: %q", ErrCredentialExists, c.UserID)
	}
	if s.m == nil {
		s.m = make(map[string]Credential)
	}
	s.m[c.UserID] = c.clone()
	return nil
}

// Update implements CredentialStore.
func (s *MemoryCredentials) Update(ctx context.Context, userID string, fn func(*Credential) error) (Credential, error) {
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[userID]
	if !ok {
		return Credential{}, fmt.Errorf("%w %q", ErrNoCredential, userID)
	}
	c = c.clone()
	if err := fn(&c); err != nil {
		return Credential{}, err
	}
	if c.UserID != userID {
		return Credential{}, fmt.Errorf("signature: update changed user id %q to %q", userID, c.UserID)
	}
	s.m[userID] = c.clone()
	return c, nil
}
