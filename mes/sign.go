package mes

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
)

// Codes of signature checks. Every failure denies the command and is
// recorded with the denied attempt; nothing is signed onto the record.
const (
	CodeSignatureNotAuthenticated gate.Code = "signature.not-authenticated"
	CodeSignatureUnexpected       gate.Code = "signature.unexpected"
	CodeSignatureRole             gate.Code = "signature.role"
	CodeSignatureSelf             gate.Code = "signature.self"
	// CodeSignerUnknown: the signer has a credential but no person record:
	// nobody the plant knows signed.
	CodeSignerUnknown        gate.Code = "signature.signer-unknown"
	CodeSignatureNotDistinct gate.Code = "signature.not-distinct"
)

// Sign is one person's signature given with a command: the challenge that
// re-authenticates them (user id and secret, or a session and the secret),
// the meaning they sign with, and an optional reason shown with the
// signature. The engine authenticates the challenge through its Signer at
// the moment of recording, so a signature is never made for a record that
// does not exist.
type Sign struct {
	Meaning   Meaning
	Challenge signature.Challenge
	Reason    string
}

// signed is a signature made for a transition, with its session.
type signed struct {
	sig     *signature.Signature
	session signature.Session
}

// checkSignatureInputs checks what can be checked before anyone is
// authenticated: every given meaning is asked for, and each requirement has
// as many signatures as it needs.
func checkSignatureInputs(req *Request, t *Transition) []gate.Reason {
	var out []gate.Reason
	for _, s := range req.Signatures {
		if !slices.ContainsFunc(t.Signatures, func(r SignatureRequirement) bool { return r.Meaning == s.Meaning }) {
			out = append(out, gate.Reason{Gate: "signature", Code: CodeSignatureUnexpected,
				Message: fmt.Sprintf("%s does not take a signature meaning %q", t.Command, s.Meaning)})
		}
	}
	for _, r := range t.Signatures {
		n := 0
		for _, s := range req.Signatures {
			if s.Meaning == r.Meaning {
				n++
			}
		}
		if n < r.Count {
			out = append(out, gate.Reason{Gate: "signature", Code: CodeSignatureMissing,
				Message: fmt.Sprintf("%s needs %d signature(s) meaning %q; %d given", t.Command, r.Count, r.Meaning, n)})
		}
	}
	return out
}

// collectSignatures authenticates and signs every given signature over
// content, the canonical payload of the record at version of req.Subject,
// then checks each requirement against who actually signed: roles,
// distinct signers, and no signer who performed the work (see
// SignatureRequirement.NotPerformer). It returns the signatures, or the
// reasons to deny.
//
// ErrNoSigner, below, is a configuration error: a model asks for
// signatures from an engine built without Config.Signer.
func (e *Engine) collectSignatures(ctx context.Context, req *Request, t *Transition, facts *streamFacts,
	recs []audit.Record, content []byte, version int64) ([]signed, []gate.Reason, error) {
	if e.signer == nil {
		return nil, nil, fmt.Errorf("%w: %s needs signatures", ErrNoSigner, t.Command)
	}
	ref := signature.RecordRef{Stream: req.Subject, Version: version, Key: req.ID}
	var out []signed
	var reasons []gate.Reason
	for _, s := range req.Signatures {
		sig, sess, err := e.signer.Sign(ctx, signature.Request{
			Challenge: s.Challenge, Meaning: signature.Meaning(s.Meaning), Reason: s.Reason,
			Content: content, Record: ref,
		})
		if err != nil {
			if errors.Is(err, signature.ErrNotAuthenticated) && !errors.Is(err, signature.ErrNotRecorded) {
				reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignatureNotAuthenticated,
					Message: fmt.Sprintf("signature meaning %q: %v", s.Meaning, err)})
				continue
			}
			return nil, nil, fmt.Errorf("mes: sign %s: %w", t.Command, err)
		}
		out = append(out, signed{sig: sig, session: sess})
	}
	if len(reasons) > 0 {
		return nil, reasons, nil
	}
	performers := performersOf(req, recs)
	for _, r := range t.Signatures {
		var signers []string
		for _, s := range out {
			if Meaning(s.sig.Manifestation.Meaning) != r.Meaning {
				continue
			}
			who := s.sig.Manifestation.SignerID
			rs, err := signerReasons(ctx, req, t, facts, performers, r, who)
			if err != nil {
				return nil, nil, err
			}
			reasons = append(reasons, rs...)
			signers = append(signers, who)
		}
		if r.DistinctSigners {
			slices.Sort(signers)
			if n := len(slices.Compact(signers)); n < r.Count {
				reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignatureNotDistinct,
					Message: fmt.Sprintf("%s needs %d different people to sign %q; %d did", t.Command, r.Count, r.Meaning, n)})
			}
		}
	}
	if len(reasons) > 0 {
		return nil, reasons, nil
	}
	return out, nil, nil
}

// signerReasons returns why who may not give a signature that r asks of
// transition t: they took part in the work (NotPerformer), they give the
// command (NotActor), the plant has no person record of them, or they hold
// none of r's roles.
func signerReasons(ctx context.Context, req *Request, t *Transition, facts gate.Facts, performers map[string]bool,
	r SignatureRequirement, who string) ([]gate.Reason, error) {
	var reasons []gate.Reason
	switch {
	case r.NotPerformer && performers[who]:
		reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignatureSelf,
			Message: fmt.Sprintf("%s took part in the work on %s and may not sign it %q", who, req.Scope(), r.Meaning)})
	case r.NotActor && who == req.Actor:
		reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignatureSelf,
			Message: fmt.Sprintf("%s gives the command %s on %s and may not also sign it %q; a second person must", who, t.Command, req.Scope(), r.Meaning)})
	}
	p, err := facts.Person(ctx, who)
	known := err == nil
	if errors.Is(err, gate.ErrUnknown) {
		reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignerUnknown,
			Message: fmt.Sprintf("%s holds a credential but no person record; a signature must be by someone the plant knows", who)})
	} else if err != nil {
		return nil, fmt.Errorf("mes: look up signer %s: %w", who, err)
	}
	if known && len(r.Roles) > 0 {
		if !slices.ContainsFunc(p.Roles, func(role string) bool { return slices.Contains(r.Roles, role) }) {
			reasons = append(reasons, gate.Reason{Gate: "signature", Code: CodeSignatureRole,
				Message: fmt.Sprintf("%s holds none of the roles %v that may sign %s %q", who, r.Roles, t.Command, r.Meaning)})
		}
	}
	return reasons, nil
}

// performersOf returns who took part in the work a transition signs: the
// actors of the subject's earlier records — of the step's records when the
// request runs a step — other than denied attempts and reviews of
// corrections (reviewing is not doing the work), and everyone who signed
// one of them (a verifier, an approver of an override or an exception):
// whoever vouched for the work is part of it.
func performersOf(req *Request, recs []audit.Record) map[string]bool {
	out := map[string]bool{}
	var needle []byte
	if req.Step != "" {
		var ok bool
		if needle, ok = member(nil, "step", req.Step); !ok {
			return out
		}
	}
	for i := range recs {
		r := &recs[i]
		if r.Type == event.Denied || r.Type == event.CorrectionReviewed {
			continue
		}
		if needle != nil && !bytes.Contains(r.Payload, needle) {
			continue
		}
		out[r.Actor] = true
	}
	return out
}

// Scope names what the request acts on, for messages: "step S10 of
// batch-B42", or the subject.
func (req *Request) Scope() string {
	if req.Step != "" {
		return "step " + req.Step + " of " + req.Subject
	}
	return req.Subject
}

// signatureEvents returns the records that hold the signatures.
func signatureEvents(req *Request, version int64, sigs []signed) ([]eventSpec, error) {
	out := make([]eventSpec, 0, len(sigs))
	for _, s := range sigs {
		data, err := json.Marshal(event.Signature{CommandID: req.ID, Signs: version, Signature: s.sig})
		if err != nil {
			return nil, fmt.Errorf("mes: encode signature: %w", err)
		}
		out = append(out, eventSpec{typ: event.SignatureApplied, actor: s.sig.Manifestation.SignerID, payload: data})
	}
	return out, nil
}

// eventSpec is an event to append to the subject.
type eventSpec struct {
	typ, actor string
	payload    []byte
}

// SignatureCheck is the result of checking one stored signature.
type SignatureCheck struct {
	Record    audit.Record         // the event.SignatureApplied record
	Signature *signature.Signature // as decoded; nil when it could not be
	Signs     int64                // the version of the signed record
	Err       error                // nil when the signature verifies
	KeyID     string               // the audit.KeyID of the key that verified it
}

// VerifySignatures checks every signature in recs, the records of one
// stream from version 1: each must decode, name a record of the stream, and
// verify against that record's exact payload (less its attestation) and
// reference under pub.
// A signature moved onto another record fails with signature.ErrWrongRecord,
// one over changed content with signature.ErrContentMismatch, a forged one
// with signature.ErrBadSeal.
func VerifySignatures(recs []audit.Record, pub ed25519.PublicKey) []SignatureCheck {
	key := []SigningKey{{Public: pub}}
	if len(pub) == ed25519.PublicKeySize {
		key[0].KeyID = audit.KeyID(pub)
	}
	return verifySignatures(recs, func(*signature.Signature) ([]SigningKey, error) { return key, nil })
}

// verifySignatures checks the signatures of recs, each under the keys
// keysFor gives for it; the first that verifies is reported.
func verifySignatures(recs []audit.Record, keysFor func(*signature.Signature) ([]SigningKey, error)) []SignatureCheck {
	var out []SignatureCheck
	for i := range recs {
		r := recs[i]
		if r.Type != event.SignatureApplied {
			continue
		}
		c := SignatureCheck{Record: r}
		var p event.Signature
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			c.Err = fmt.Errorf("mes: %s v%d: %w", r.Stream, r.Version, err)
			out = append(out, c)
			continue
		}
		c.Signature, c.Signs = p.Signature, p.Signs
		if p.Signs < 1 || p.Signs > int64(len(recs)) || recs[p.Signs-1].Version != p.Signs {
			c.Err = fmt.Errorf("mes: %s v%d signs version %d, which is not in the stream", r.Stream, r.Version, p.Signs)
			out = append(out, c)
			continue
		}
		// The reference is rebuilt from the signed record itself, so a
		// signature event pointing at another record does not carry its
		// own key along.
		target := &recs[p.Signs-1]
		var tp event.Transition
		if err := json.Unmarshal(target.Payload, &tp); err != nil {
			c.Err = fmt.Errorf("mes: %s v%d: %w", target.Stream, target.Version, err)
			out = append(out, c)
			continue
		}
		// A signature signs the payload as the engine decided it, before
		// its attestation was added (audit.StripAttestation).
		keys, err := keysFor(p.Signature)
		c.Err = err
		for _, k := range keys {
			if c.Err = signature.Verify(p.Signature, audit.StripAttestation(target.Payload),
				signature.RecordRef{Stream: target.Stream, Version: target.Version, Key: tp.CommandID}, k.Public); c.Err == nil {
				c.KeyID = k.KeyID
				break
			}
		}
		out = append(out, c)
	}
	return out
}
