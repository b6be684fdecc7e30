package mes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// Credentials is a signature.CredentialStore kept on the record: each
// user's credential (the printed name, the argon2id hash of the secret and
// its parameters, the lockout state, never the secret) is a stream
// (event.CredentialStream) whose last record is the credential as it
// stands, so credentials survive a restart, are shared by every instance on
// one store, and every change is on the trail. Updates are optimistic:
// a change appends at the version it read, and one that lost the race is
// applied again to the newer credential, so failure counts stay exact
// across instances.
//
// With attestation keys (give the engine's), its records are attested and
// a credential record without a valid attestation is refused when read: a
// credential planted in the database around the engine cannot be used to
// sign. It is safe for concurrent use.
type Credentials struct {
	store  storage.Store
	attest *audit.Attested
}

var _ signature.CredentialStore = (*Credentials)(nil)

// NewCredentials returns credentials kept in store; attest may be nil.
func NewCredentials(store storage.Store, attest *audit.Attested) (*Credentials, error) {
	if store == nil {
		return nil, errors.New("mes: NewCredentials: store is nil")
	}
	return &Credentials{store: store, attest: attest}, nil
}

// credentialRecord is a credential as its records hold it.
type credentialRecord struct {
	UserID      string                 `json:"user"`
	PrintedName string                 `json:"printed_name"`
	Params      signature.Argon2Params `json:"params"`
	Salt        []byte                 `json:"salt"`
	Key         []byte                 `json:"key"`
	Failures    int                    `json:"failures"`
	Locked      bool                   `json:"locked"`
}

// maxCredentialRetries bounds how often an update is applied again after
// another instance changed the credential first.
const maxCredentialRetries = 20

// Load implements signature.CredentialStore.
func (c *Credentials) Load(ctx context.Context, userID string) (signature.Credential, error) {
	cred, _, err := c.load(ctx, userID)
	return cred, err
}

func (c *Credentials) load(ctx context.Context, userID string) (signature.Credential, int64, error) {
	recs, err := c.store.Load(ctx, event.CredentialStream(userID), 1)
	if err != nil {
		return signature.Credential{}, 0, fmt.Errorf("mes: load credential of %s: %w", userID, err)
	}
	if len(recs) == 0 {
		return signature.Credential{}, 0, fmt.Errorf("%w %q", signature.ErrNoCredential, userID)
	}
	last := &recs[len(recs)-1]
	if c.attest != nil {
		if err := c.attest.Check(last); err != nil {
			return signature.Credential{}, 0, &UnprovenError{Stream: last.Stream, Version: last.Version, Model: "credential", Reason: err.Error()}
		}
	}
	var r credentialRecord
	if err := json.Unmarshal(last.Payload, &r); err != nil || r.UserID != userID {
		return signature.Credential{}, 0, fmt.Errorf("mes: credential of %s at v%d cannot be read", userID, last.Version)
	}
	return signature.Credential{UserID: r.UserID, PrintedName: r.PrintedName,
		Hash:     signature.PasswordHash{Params: r.Params, Salt: r.Salt, Key: r.Key},
		Failures: r.Failures, Locked: r.Locked}, last.Version, nil
}

// Create implements signature.CredentialStore.
func (c *Credentials) Create(ctx context.Context, cred signature.Credential) error {
	err := c.append(ctx, cred, 0, event.CredentialCreated)
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: %q", signature.ErrCredentialExists, cred.UserID)
	}
	return err
}

// Update implements signature.CredentialStore.
func (c *Credentials) Update(ctx context.Context, userID string, fn func(*signature.Credential) error) (signature.Credential, error) {
	for range maxCredentialRetries {
		cred, version, err := c.load(ctx, userID)
		if err != nil {
			return signature.Credential{}, err
		}
		before := cred
		before.Hash.Salt, before.Hash.Key = bytes.Clone(cred.Hash.Salt), bytes.Clone(cred.Hash.Key)
		if err := fn(&cred); err != nil {
			return signature.Credential{}, err
		}
		if sameCredential(before, cred) {
			// Nothing changed (a success with no failures to reset): no
			// record.
			return cred, nil
		}
		if cred.UserID != userID {
			return signature.Credential{}, fmt.Errorf("mes: credential update changed user id %q to %q", userID, cred.UserID)
		}
		err = c.append(ctx, cred, version, event.CredentialUpdated)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		return cred, err
	}
	return signature.Credential{}, fmt.Errorf("mes: credential of %s kept changing: %w", userID, storage.ErrConflict)
}

func sameCredential(a, b signature.Credential) bool {
	return a.UserID == b.UserID && a.PrintedName == b.PrintedName && a.Failures == b.Failures && a.Locked == b.Locked &&
		a.Hash.Params == b.Hash.Params && bytes.Equal(a.Hash.Salt, b.Hash.Salt) && bytes.Equal(a.Hash.Key, b.Hash.Key)
}

func (c *Credentials) append(ctx context.Context, cred signature.Credential, expected int64, typ string) error {
	payload, err := json.Marshal(credentialRecord{UserID: cred.UserID, PrintedName: cred.PrintedName, Params: cred.Hash.Params,
		Salt: cred.Hash.Salt, Key: cred.Hash.Key, Failures: cred.Failures, Locked: cred.Locked})
	if err != nil {
		return fmt.Errorf("mes: encode credential of %s: %w", cred.UserID, err)
	}
	req := storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: event.CredentialStream(cred.UserID), ExpectedVersion: expected,
		Events: []storage.Event{{Type: typ, Actor: cred.UserID, Payload: payload}}}}}
	if err := attestAll(c.attest, &req); err != nil {
		return err
	}
	if _, err := c.store.Append(ctx, req); err != nil {
		return fmt.Errorf("mes: record credential of %s: %w", cred.UserID, err)
	}
	return nil
}
