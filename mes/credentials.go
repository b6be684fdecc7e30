package mes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// A credential changes only through a gated command. Creating it, and
// changing its printed name or secret, needs an allowed CmdSetCredential
// (an administrator, never the person) or, for the secret alone, an
// allowed CmdChangeSecret (the person); lifting a lockout needs an allowed
// CmdUnlockCredential. Each such record on the person's stream authorises
// one change and is named in the credential record it authorised; a change
// with no unused authorisation is refused with ErrNoGrant. Failure counts
// and lockouts, which authentication itself writes, need none. Give the
// authenticator an AuthTrail on which Gate was called: it runs these
// commands as the authenticator reports the changes.
//
// With attestation keys (give the engine's), its records are attested and
// a credential record or authorising command without a valid attestation
// is refused when read: a credential planted in the database around the
// engine cannot be used to sign. It is safe for concurrent use.
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
	// Grant is the version, in the person's stream, of the allowed
	// command that authorised the last change of name, secret or lockout.
	Grant int64 `json:"grant,omitempty"`
}

// ErrNoGrant: a credential change that needs an allowed command on the
// person's stream (CmdSetCredential, CmdChangeSecret or
// CmdUnlockCredential) found none that was not already used.
var ErrNoGrant = errors.New("mes: no allowed command authorises this credential change")

// GrantError is ErrNoGrant with what was asked.
type GrantError struct {
	UserID string
	Change string   // "create", "printed name", "secret" or "unlock"
	Needs  []string // the event types of the commands that would authorise it
	After  int64    // the person stream's version of the last grant used
}

// Error names the user, the change and the commands that authorise it.
func (e *GrantError) Error() string {
	return fmt.Sprintf("mes: %s of the credential of %s needs an allowed command recorded as %s on %s after v%d",
		e.Change, e.UserID, strings.Join(e.Needs, " or "), event.PersonStream(e.UserID), e.After)
}

// Unwrap returns ErrNoGrant.
func (e *GrantError) Unwrap() error { return ErrNoGrant }

// maxCredentialRetries bounds how often an update is applied again after
// another instance changed the credential first.
const maxCredentialRetries = 20

// Load implements signature.CredentialStore.
func (c *Credentials) Load(ctx context.Context, userID string) (signature.Credential, error) {
	cred, _, _, err := c.load(ctx, userID)
	return cred, err
}

// load returns the credential, its stream's version and the grant it
// last used.
func (c *Credentials) load(ctx context.Context, userID string) (signature.Credential, int64, int64, error) {
	recs, err := c.store.Load(ctx, event.CredentialStream(userID), 1)
	if err != nil {
		return signature.Credential{}, 0, 0, fmt.Errorf("mes: load credential of %s: %w", userID, err)
	}
	if len(recs) == 0 {
		return signature.Credential{}, 0, 0, fmt.Errorf("%w %q", signature.ErrNoCredential, userID)
	}
	last := &recs[len(recs)-1]
	if c.attest != nil {
		if err := c.attest.Check(last); err != nil {
			return signature.Credential{}, 0, 0, &UnprovenError{Stream: last.Stream, Version: last.Version, Model: "credential", Reason: err.Error()}
		}
	}
	var r credentialRecord
	if err := json.Unmarshal(last.Payload, &r); err != nil || r.UserID != userID {
		return signature.Credential{}, 0, 0, fmt.Errorf("mes: credential of %s at v%d cannot be read", userID, last.Version)
	}
	return signature.Credential{UserID: r.UserID, PrintedName: r.PrintedName,
		Hash:     signature.PasswordHash{Params: r.Params, Salt: r.Salt, Key: r.Key},
		Failures: r.Failures, Locked: r.Locked}, last.Version, r.Grant, nil
}

// grant returns the version of the newest allowed command on userID's
// person stream after version after whose record type is one of types, or
// a *GrantError.
func (c *Credentials) grant(ctx context.Context, userID, change string, after int64, types ...string) (int64, error) {
	recs, err := c.store.Load(ctx, event.PersonStream(userID), after+1)
	if err != nil {
		return 0, fmt.Errorf("mes: load %s: %w", event.PersonStream(userID), err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := &recs[i]
		if !slices.Contains(types, r.Type) {
			continue
		}
		if c.attest != nil {
			if err := c.attest.Check(r); err != nil {
				return 0, &UnprovenError{Stream: r.Stream, Version: r.Version, Model: "person", Reason: err.Error()}
			}
		}
		return r.Version, nil
	}
	return 0, &GrantError{UserID: userID, Change: change, Needs: types, After: after}
}

// Create implements signature.CredentialStore. It needs an unused allowed
// CmdSetCredential on the person's stream.
func (c *Credentials) Create(ctx context.Context, cred signature.Credential) error {
	g, err := c.grant(ctx, cred.UserID, "create", 0, event.PersonCredentialSet)
	if err != nil {
		return err
	}
	err = c.append(ctx, cred, 0, g, event.CredentialCreated)
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: %q", signature.ErrCredentialExists, cred.UserID)
	}
	return err
}

// grantFor returns the grant a change from before to after needs: the one
// it used so far when the change needs none.
func (c *Credentials) grantFor(ctx context.Context, before, after signature.Credential, used int64) (int64, error) {
	switch {
	case before.PrintedName != after.PrintedName:
		return c.grant(ctx, after.UserID, "printed name", used, event.PersonCredentialSet)
	case before.Hash.Params != after.Hash.Params || !bytes.Equal(before.Hash.Salt, after.Hash.Salt) || !bytes.Equal(before.Hash.Key, after.Hash.Key):
		return c.grant(ctx, after.UserID, "secret", used, event.PersonCredentialSet, event.PersonSecretChanged)
	case before.Locked && !after.Locked:
		return c.grant(ctx, after.UserID, "unlock", used, event.PersonCredentialUnlocked)
	}
	return used, nil
}

// Update implements signature.CredentialStore.
func (c *Credentials) Update(ctx context.Context, userID string, fn func(*signature.Credential) error) (signature.Credential, error) {
	for range maxCredentialRetries {
		cred, version, used, err := c.load(ctx, userID)
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
		g, err := c.grantFor(ctx, before, cred, used)
		if err != nil {
			return signature.Credential{}, err
		}
		err = c.append(ctx, cred, version, g, event.CredentialUpdated)
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

func (c *Credentials) append(ctx context.Context, cred signature.Credential, expected, grant int64, typ string) error {
	payload, err := json.Marshal(credentialRecord{UserID: cred.UserID, PrintedName: cred.PrintedName, Params: cred.Hash.Params,
		Salt: cred.Hash.Salt, Key: cred.Hash.Key, Failures: cred.Failures, Locked: cred.Locked, Grant: grant})
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
