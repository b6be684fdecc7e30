package release

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/correction"
	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// Codes of release readiness: each names one thing that blocks a batch's
// release. The readiness gate fails with one reason per blocker.
const (
	CodeBatchState           gate.Code = "release.batch-not-complete"
	CodeBatchHeld            gate.Code = "release.batch-held"
	CodeStepNotDone          gate.Code = "release.step-not-done"
	CodeVerificationMissing  gate.Code = "release.verification-missing"
	CodeVerificationUnsigned gate.Code = "release.verification-unsigned"
	CodeSignatureInvalid     gate.Code = "release.signature-invalid"
	CodeExceptionOpen        gate.Code = "release.exception-open"
	CodeCorrectionUnreviewed gate.Code = "release.correction-unreviewed"
	CodeLotOnHold            gate.Code = "release.lot-on-hold"
	CodeLotRejected          gate.Code = "release.lot-rejected"
)

// Blocker is one thing that blocks release.
type Blocker struct {
	Code    gate.Code
	Message string // a sentence a person understands
	// Ref names what blocks: an exception's id, a step's id, a lot's id, a
	// correction's value name; "" for the batch itself.
	Ref string
	// Version is the batch record concerned (an unsigned verification, an
	// invalid signature, an unreviewed correction); 0 when none.
	Version int64
}

// Verdict is the release readiness of a batch: ready, or every blocker.
type Verdict struct {
	Ready    bool
	Blocking []Blocker
}

// RequiredStep is a step that must be done before release.
type RequiredStep struct {
	ID string
	// Verify requires the step to be verified by a signed verification
	// (a transition of the step to StepVerified followed by a signature
	// meaning "verified"), not only done.
	Verify bool
}

// RequiredSteps lists the steps of route in order, each to be verified
// when it has a SecondPersonVerification requirement. A route whose
// branches skip steps needs the list of the steps the batch took instead.
func RequiredSteps(rt *route.Route) []RequiredStep {
	var out []RequiredStep
	for _, s := range rt.Steps() {
		verify := slices.ContainsFunc(s.Requirements, func(r route.Requirement) bool {
			_, ok := r.(route.SecondPersonVerification)
			return ok
		})
		out = append(out, RequiredStep{ID: s.ID, Verify: verify})
	}
	return out
}

// Config says what a batch must satisfy to be released.
type Config struct {
	// Batch is the batch's lifecycle, whose state must be one of
	// Releasable. Default: BatchLifecycle().
	Batch *mes.Model
	// Releasable are the batch states release may happen from. Default:
	// BatchComplete, BatchVerified, BatchClosed.
	Releasable []mes.State
	// Held is the batch state that means the batch is on hold. Default
	// BatchHeld.
	Held mes.State
	// Steps must be done (and verified where they say so).
	Steps []RequiredStep
	// StepDone are the step states that count as done. Default:
	// StepComplete, StepVerified, StepSkipped.
	StepDone []mes.State
	// Key, when set, is the system's signature key: every signature on the
	// batch must verify under it, and only those that do count. Without it
	// a signature record counts as present.
	Key ed25519.PublicKey
	// SigningKeys, instead of Key, are the signing keys the trail records
	// (mes.SigningKeys): each signature must verify under the key in force
	// when it was made (mes.VerifySignaturesWith). A rotation adds a key,
	// so build the model again after one.
	SigningKeys []mes.SigningKey
}

// readiness is a validated Config with its defaults.
type readiness struct {
	batch      *mes.Model
	releasable []mes.State
	held       mes.State
	steps      []RequiredStep
	done       []mes.State
	key        ed25519.PublicKey
	keys       []mes.SigningKey
}

func newReadiness(cfg *Config) (*readiness, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	r := &readiness{batch: cfg.Batch, releasable: slices.Clone(cfg.Releasable), held: cfg.Held,
		steps: slices.Clone(cfg.Steps), done: slices.Clone(cfg.StepDone), key: cfg.Key, keys: slices.Clone(cfg.SigningKeys)}
	if r.batch == nil {
		m, err := lifecycle.Batch()
		if err != nil {
			return nil, err
		}
		r.batch = m
	}
	if len(r.releasable) == 0 {
		r.releasable = []mes.State{lifecycle.BatchComplete, lifecycle.BatchVerified, lifecycle.BatchClosed}
	}
	if r.held == "" {
		r.held = lifecycle.BatchHeld
	}
	if len(r.done) == 0 {
		r.done = []mes.State{lifecycle.StepComplete, lifecycle.StepVerified, lifecycle.StepSkipped}
	}
	var problems []string
	states := r.batch.States()
	for _, s := range append(slices.Clone(r.releasable), r.held) {
		if !slices.Contains(states, s) {
			problems = append(problems, fmt.Sprintf("state %q is not a state of %s v%d", s, r.batch.Name(), r.batch.Version()))
		}
	}
	seen := map[string]bool{}
	for i, s := range r.steps {
		switch {
		case s.ID == "":
			problems = append(problems, fmt.Sprintf("Steps[%d] has no id", i))
		case seen[s.ID]:
			problems = append(problems, fmt.Sprintf("step %q is required twice", s.ID))
		}
		seen[s.ID] = true
	}
	if r.key != nil && len(r.key) != ed25519.PublicKeySize {
		problems = append(problems, fmt.Sprintf("Key is %d bytes, not an ed25519 public key", len(r.key)))
	}
	if r.key != nil && r.keys != nil {
		problems = append(problems, "both Key and SigningKeys are given; give one")
	}
	if r.keys != nil && len(r.keys) == 0 {
		problems = append(problems, "SigningKeys is empty: no signature could verify")
	}
	for i, k := range r.keys {
		if len(k.Public) != ed25519.PublicKeySize {
			problems = append(problems, fmt.Sprintf("SigningKeys[%d] is %d bytes, not an ed25519 public key", i, len(k.Public)))
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return r, nil
}

// Readiness says whether batch, a batch's stream in store, may be
// released, listing every blocker, in this order: the batch held or not in
// a releasable state; signatures that do not verify (with
// Config.Key); required steps not done or lacking their
// verification, in configuration order; verifications without a valid
// signature; open exceptions (deviations, holds); corrections not
// reviewed; lots the batch consumed or made that are on hold or rejected.
// Each kind comes in record order. cfg may be nil.
//
// It returns an error for an invalid cfg (matching ErrInvalidException),
// when a record cannot be read, and when a lot the batch names is unknown.
func Readiness(ctx context.Context, store storage.Reader, batch string, cfg *Config) (*Verdict, error) {
	r, err := newReadiness(cfg)
	if err != nil {
		return nil, err
	}
	blocking, err := r.check(ctx, mes.NewFacts(store, "", nil), batch)
	if err != nil {
		return nil, err
	}
	return &Verdict{Ready: len(blocking) == 0, Blocking: blocking}, nil
}

// Ready returns the gate that passes when the attempt's subject, a
// batch, is ready for release (see Readiness), and otherwise fails with one
// reason per blocker, its code the blocker's. It reads the batch's records
// as the attempt sees them, so the append of the release asserts the very
// version it judged: a deviation opened meanwhile makes the release run its
// gates again. It works with the engine's facts only, and returns an error
// for any other gate.Facts. Its reasons are named "release-ready".
func Ready(cfg *Config) (gate.Gate, error) {
	r, err := newReadiness(cfg)
	if err != nil {
		return nil, err
	}
	return gate.Named("release-ready", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		sf, ok := f.(mes.Facts)
		if !ok {
			return gate.Verdict{}, fmt.Errorf("release: release readiness reads the batch's records, which %T does not give", f)
		}
		blocking, err := r.check(ctx, sf, a.Subject)
		if err != nil {
			return gate.Verdict{}, err
		}
		var fs []gate.Reason
		for _, b := range blocking {
			fs = append(fs, gate.Reason{Code: b.Code, Message: b.Message})
		}
		if len(fs) == 0 {
			return gate.Pass(), nil
		}
		return gate.Verdict{Reasons: fs}, nil
	}))
}

// The batch release model: on the batch's stream, beside its lifecycle.
const (
	ModelName           = "batch-release"
	Pending   mes.State = "pending"
	Released  mes.State = "released"
	Rejected  mes.State = "rejected"

	// MeaningRejected is the meaning of the signature that rejects a batch.
	MeaningRejected mes.Meaning = "rejected"
)

// Model returns the batch release model, ModelName v1, run on
// the batch's own stream beside its lifecycle: pending --release-->
// released, pending --reject--> rejected. Release is guarded by
// Ready(cfg) and needs one signature meaning "approved" by a person
// holding one of qaRoles who took no part in the batch: no actor of any
// earlier record of the batch (operators, verifiers, whoever opened or
// approved its exceptions), so the engine denies and records a release by
// anyone involved. Rejecting needs a signature meaning "rejected" under the
// same rule. opts add to both transitions.
func Model(cfg *Config, qaRoles []string, opts ...mes.Option) (*mes.Model, error) {
	if len(qaRoles) == 0 {
		return nil, errors.New("release: Model: no role may release; name at least one")
	}
	ready, err := Ready(cfg)
	if err != nil {
		return nil, err
	}
	with := mes.Prepend(opts)
	return mes.NewModel(ModelName, 1).
		States(Pending, Released, Rejected).
		Initial(Pending).Final(Released, Rejected).
		Permit(Pending, mes.CmdRelease, Released, with(mes.Recording(event.BatchQAReleased), mes.WithGates(ready),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: mes.MeaningApproved, Count: 1, Roles: qaRoles, NotPerformer: true}))...).
		Permit(Pending, mes.CmdReject, Rejected, with(mes.Recording(event.BatchQARejected),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: MeaningRejected, Count: 1, Roles: qaRoles, NotPerformer: true}))...).
		Build()
}

// batchRecord is what readiness reads of a batch record.
type batchRecord struct {
	Model      string           `json:"model"`
	Step       string           `json:"step"`
	To         mes.State        `json:"to"`
	Quantities []event.Quantity `json:"quantities"`
}

// check lists the blockers of batch, reading it through f.
func (r *readiness) check(ctx context.Context, f mes.Facts, batch string) ([]Blocker, error) {
	recs, err := f.Records(ctx, batch)
	if err != nil {
		return nil, err
	}
	var out []Blocker
	add := func(code gate.Code, ref string, version int64, format string, args ...any) {
		out = append(out, Blocker{Code: code, Ref: ref, Version: version, Message: fmt.Sprintf(format, args...)})
	}

	state, err := mes.Fold(r.batch, "", recs)
	if err != nil {
		return nil, err
	}
	switch {
	case state == r.held:
		add(CodeBatchHeld, "", 0, "%s is on hold", batch)
	case !slices.Contains(r.releasable, state):
		add(CodeBatchState, "", 0, "%s is %q; release needs it %v", batch, state, r.releasable)
	}

	// Steps, their verifications and signatures, and the lots moved.
	steps := map[string]mes.State{}
	verifiedAt := map[string]int64{}
	var stepOrder []string
	signed := map[int64][]mes.Meaning{} // version of a signed record → meanings of its valid signatures
	if r.key != nil || r.keys != nil {
		var checks []mes.SignatureCheck
		if r.keys != nil {
			checks = mes.VerifySignaturesWith(recs, r.keys)
		} else {
			checks = mes.VerifySignatures(recs, r.key)
		}
		for _, c := range checks {
			if c.Err != nil {
				add(CodeSignatureInvalid, "", c.Record.Version, "the signature at %s v%d does not verify: %v", batch, c.Record.Version, c.Err)
				continue
			}
			signed[c.Signs] = append(signed[c.Signs], mes.Meaning(c.Signature.Manifestation.Meaning))
		}
	}
	var lots []string
	for i := range recs {
		rec := &recs[i]
		switch rec.Type {
		case event.Denied, event.ExceptionOpened, event.ExceptionClosed:
			continue
		case event.SignatureApplied:
			if r.key != nil || r.keys != nil {
				continue // judged above
			}
			var p event.Signature
			if err := json.Unmarshal(rec.Payload, &p); err != nil {
				return nil, fmt.Errorf("release: %s v%d: %w", rec.Stream, rec.Version, err)
			}
			if p.Signature != nil {
				signed[p.Signs] = append(signed[p.Signs], mes.Meaning(p.Signature.Manifestation.Meaning))
			}
			continue
		}
		var p batchRecord
		if err := json.Unmarshal(rec.Payload, &p); err != nil {
			return nil, fmt.Errorf("release: %s v%d (%s): %w", rec.Stream, rec.Version, rec.Type, err)
		}
		for _, q := range p.Quantities {
			for _, end := range []string{q.From, q.To} {
				if id, ok := strings.CutPrefix(end, "lot/"); ok && !slices.Contains(lots, id) {
					lots = append(lots, id)
				}
			}
		}
		if p.Step == "" || p.To == "" || p.Model == correction.ModelName {
			continue
		}
		if _, ok := steps[p.Step]; !ok {
			stepOrder = append(stepOrder, p.Step)
		}
		steps[p.Step] = p.To
		if p.To == lifecycle.StepVerified {
			verifiedAt[p.Step] = rec.Version
		} else {
			delete(verifiedAt, p.Step)
		}
	}
	for _, s := range r.steps {
		st, ok := steps[s.ID]
		switch {
		case !ok:
			add(CodeStepNotDone, s.ID, 0, "step %s of %s has not been started", s.ID, batch)
		case !slices.Contains(r.done, st):
			add(CodeStepNotDone, s.ID, 0, "step %s of %s is %q, not done", s.ID, batch, st)
		case s.Verify && st != lifecycle.StepVerified && st != lifecycle.StepSkipped:
			add(CodeVerificationMissing, s.ID, 0, "step %s of %s is %q and needs a verification by a second person", s.ID, batch, st)
		}
	}
	for _, id := range stepOrder {
		v, ok := verifiedAt[id]
		if ok && !slices.Contains(signed[v], mes.Meaning(signature.Verified)) {
			add(CodeVerificationUnsigned, id, v, "the verification of step %s at %s v%d carries no valid signature meaning \"verified\"", id, batch, v)
		}
	}

	open, err := f.OpenExceptions(ctx, batch)
	if err != nil {
		return nil, err
	}
	for _, x := range open {
		kind := x.Kind
		if kind == "" {
			kind = "exception"
		}
		add(CodeExceptionOpen, x.ID, 0, "%s %s is open on %s: %s", kind, x.ID, batch, x.Summary)
	}

	unreviewed, err := correction.Unreviewed(recs)
	if err != nil {
		return nil, err
	}
	for _, c := range unreviewed {
		add(CodeCorrectionUnreviewed, c.Name, c.Version, "the correction of %s at %s v%d (%s) has not been reviewed", c.Name, batch, c.Version, c.Reason)
	}

	for _, id := range lots {
		lot, err := f.Lot(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("release: lot %s of %s: %w", id, batch, err)
		}
		if lot.OnHold {
			add(CodeLotOnHold, id, 0, "lot %s, which %s used or made, is on hold: %s", id, batch, lot.HoldReason)
		}
		if lot.Status == gate.LotRejected {
			add(CodeLotRejected, id, 0, "lot %s, which %s used or made, is rejected", id, batch)
		}
	}
	return out, nil
}

// ConfigError lists what is wrong with a readiness Config. It matches
// interlock.ErrInvalid.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "release: invalid readiness configuration: " + strings.Join(e.Problems, "; ")
}

// Unwrap makes errors.Is(err, interlock.ErrInvalid) true.
func (e *ConfigError) Unwrap() error { return interlock.ErrInvalid }
