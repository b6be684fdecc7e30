package signature

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testProvider is a small identity provider of the OpenID Connect kind:
// it issues tokens (claims, then an HMAC over them) for people who logged
// in, and verifies a token's MAC, issuer, audience and expiry as a relying
// party's library would.
type testProvider struct {
	key      []byte
	issuer   string
	audience string
	n        int
}

type testClaims struct {
	Iss      string   `json:"iss"`
	Aud      string   `json:"aud"`
	Sub      string   `json:"sub"`
	Name     string   `json:"name"`
	AuthTime int64    `json:"auth_time"`
	Exp      int64    `json:"exp"`
	Jti      string   `json:"jti"`
	Amr      []string `json:"amr"`
}

// issue returns a token for sub, who authenticated at authTime; edit may
// change the claims first.
func (p *testProvider) issue(sub string, authTime time.Time, edit func(*testClaims)) Secret {
	p.n++
	c := testClaims{Iss: p.issuer, Aud: p.audience, Sub: sub, Name: "Name of " + sub, AuthTime: authTime.Unix(),
		Exp: authTime.Add(5 * time.Minute).Unix(), Jti: fmt.Sprintf("token-%d", p.n), Amr: []string{"pwd", "otp"}}
	if edit != nil {
		edit(&c)
	}
	b, _ := json.Marshal(c)
	body := base64.RawURLEncoding.EncodeToString(b)
	return NewSecret(body + "." + hex.EncodeToString(p.mac(body)))
}

func (p *testProvider) mac(body string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

func (p *testProvider) VerifyAssertion(_ context.Context, s Secret) (Assertion, error) {
	body, sig, ok := strings.Cut(string(s.Bytes()), ".")
	mac, err := hex.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(mac, p.mac(body)) {
		return Assertion{}, errors.New("token signature does not verify")
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Assertion{}, err
	}
	var c testClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return Assertion{}, err
	}
	if c.Iss != p.issuer || c.Aud != p.audience {
		return Assertion{}, fmt.Errorf("token for %s at %s, want %s at %s", c.Aud, c.Iss, p.audience, p.issuer)
	}
	return Assertion{Subject: c.Sub, PrintedName: c.Name, AuthTime: time.Unix(c.AuthTime, 0), ID: c.Jti,
		Expires: time.Unix(c.Exp, 0), Methods: c.Amr}, nil
}

func newStepUp(t *testing.T, clock *testClock, rec *recorder) (*StepUpAuthenticator, *testProvider) {
	t.Helper()
	p := &testProvider{key: []byte("provider key"), issuer: "https://idp.example", audience: "interlock"}
	a, err := NewStepUpAuthenticator(&StepUpConfig{Provider: p, MaxAge: 2 * time.Minute, Observer: rec, Clock: clock.Now,
		UserID: func(sub string) (string, error) {
			id, ok := strings.CutPrefix(sub, "idp|")
			if !ok {
				return "", fmt.Errorf("subject %q is not one of this site's", sub)
			}
			return id, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

// TestStepUpSigning: a signing through an external provider's step-up
// authentication seals a signature with the provider's printed name, and
// the attempt is reported. The same token is refused the second time.
func TestStepUpSigning(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	rec := &recorder{}
	auth, idp := newStepUp(t, clock, rec)
	signer, err := NewSigner(&SignerConfig{Authenticator: auth, Key: testKey(1), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	token := idp.issue("idp|qa-3", clock.Now().Add(-30*time.Second), nil)
	req := Request{Challenge: Challenge{UserID: "qa-3", Secret: token}, Meaning: "approved", Content: []byte(`{"batch":"B1"}`),
		Record: RecordRef{Stream: "batch/B1", Version: 4}}
	sig, sess, err := signer.Sign(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Manifestation.SignerID != "qa-3" || sig.Manifestation.PrintedName != "Name of idp|qa-3" || sess.Components != 2 {
		t.Errorf("signed by %q (%q) with %d components; want qa-3, the provider's name, 2", sig.Manifestation.SignerID, sig.Manifestation.PrintedName, sess.Components)
	}
	if err := Verify(sig, req.Content, req.Record, signer.PublicKey()); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}
	if _, _, err := signer.Sign(context.Background(), req); !errors.Is(err, ErrReplayed) || !errors.Is(err, ErrNotAuthenticated) {
		t.Errorf("the same token again: %v; want ErrReplayed", err)
	}
	if n := len(rec.events); n != 2 || rec.events[0].Kind != EventAuthenticated || rec.events[1].Kind != EventFailed || rec.events[1].Reason != ReasonReplayed {
		t.Errorf("reported %+v; want authenticated, then failed as replayed", rec.events)
	}
}

// TestStepUpRefuses: each way a step-up can be wrong is refused with its
// own reason, reported, and never authenticates.
func TestStepUpRefuses(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	rec := &recorder{}
	auth, idp := newStepUp(t, clock, rec)
	now := clock.Now()
	forged := &testProvider{key: []byte("another key"), issuer: idp.issuer, audience: idp.audience}
	tests := []struct {
		name string
		c    Challenge
		want Reason
		err  error
	}{
		{"forged token", Challenge{UserID: "qa-3", Secret: forged.issue("idp|qa-3", now, nil)}, ReasonAssertionInvalid, ErrAssertionInvalid},
		{"another audience", Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now, func(c *testClaims) { c.Aud = "payroll" })}, ReasonAssertionInvalid, ErrAssertionInvalid},
		{"expired", Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now.Add(-time.Minute), func(c *testClaims) { c.Exp = now.Add(-time.Second).Unix() })}, ReasonAssertionInvalid, ErrAssertionInvalid},
		{"no name", Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now, func(c *testClaims) { c.Name = "" })}, ReasonAssertionInvalid, ErrAssertionInvalid},
		{"logged in long ago", Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now.Add(-10*time.Minute), func(c *testClaims) { c.Exp = now.Add(time.Hour).Unix() })}, ReasonStale, ErrStale},
		{"logged in in the future", Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now.Add(time.Minute), nil)}, ReasonStale, ErrStale},
		{"another person's token", Challenge{UserID: "qa-3", Secret: idp.issue("idp|op-7", now, nil)}, ReasonSubjectMismatch, ErrSubjectMismatch},
		{"a subject of no user", Challenge{UserID: "qa-3", Secret: idp.issue("other|qa-3", now, nil)}, ReasonSubjectMismatch, ErrSubjectMismatch},
		{"a session challenge", Challenge{UserID: "qa-3", Session: "s-1", Secret: idp.issue("idp|qa-3", now, nil)}, ReasonSessionExpired, ErrSessionExpired},
		{"no token", Challenge{UserID: "qa-3"}, ReasonIncomplete, ErrIncomplete},
		{"no user", Challenge{Secret: idp.issue("idp|qa-3", now, nil)}, ReasonIncomplete, ErrIncomplete},
	}
	for i, tt := range tests {
		_, err := auth.Authenticate(context.Background(), tt.c)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Reason != tt.want || !errors.Is(err, tt.err) || !errors.Is(err, ErrNotAuthenticated) {
			t.Errorf("%s: %v; want an *AuthError with %s", tt.name, err, tt.want)
		}
		if n := len(rec.events); n != i+1 || rec.events[n-1].Kind != EventFailed || rec.events[n-1].Reason != tt.want {
			t.Errorf("%s: reported %+v; want a failure with %s", tt.name, rec.events[len(rec.events)-1], tt.want)
		}
	}
	// A refusal the trail cannot record, and a success it cannot record,
	// are refusals.
	rec.setFail(func(Event) error { return errors.New("trail down") })
	if _, err := auth.Authenticate(context.Background(), Challenge{UserID: "qa-3", Secret: idp.issue("idp|qa-3", now, nil)}); !errors.Is(err, ErrNotRecorded) || !errors.Is(err, ErrNotAuthenticated) {
		t.Errorf("with the trail down: %v; want ErrNotRecorded and ErrNotAuthenticated", err)
	}
}

func TestNewStepUpAuthenticatorConfig(t *testing.T) {
	t.Parallel()
	p := &testProvider{}
	rec := &recorder{}
	clock := newTestClock()
	for name, cfg := range map[string]*StepUpConfig{
		"nil":         nil,
		"no provider": {MaxAge: time.Minute, Observer: rec, Clock: clock.Now},
		"no observer": {Provider: p, MaxAge: time.Minute, Clock: clock.Now},
		"no clock":    {Provider: p, MaxAge: time.Minute, Observer: rec},
		"no max age":  {Provider: p, Observer: rec, Clock: clock.Now},
		"negative":    {Provider: p, MaxAge: -time.Minute, Observer: rec, Clock: clock.Now},
	} {
		if _, err := NewStepUpAuthenticator(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
