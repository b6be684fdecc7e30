package correction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/signature"
)

// The correction model: its name, version, states and commands.
const (
	ModelName                = "correction"
	ModelVersion             = 1
	Initial      mes.State   = "new"
	Corrected    mes.State   = "corrected"
	Reviewed     mes.State   = "reviewed"
	CmdCorrect   mes.Command = "correct"
	CmdReview    mes.Command = "review"
)

const (
	correctionStepPrefix      = "correction/"
	correctionGateName        = "correction"
	correctionMeaningApproval = mes.Meaning(signature.Approved)
	correctionMeaningReview   = mes.Meaning(signature.Reviewed)
)

// Step is the step of a subject that correction id runs in; its
// review runs in the same step.
func Step(id string) string { return correctionStepPrefix + id }

// Codes of corrections. Each denies the correction, and the denied attempt
// is recorded with it.
const (
	CodeNoReason        gate.Code = "correction.no-reason"
	CodeUnknownRecord   gate.Code = "correction.unknown-record"
	CodeNotCorrectable  gate.Code = "correction.not-correctable"
	CodeUnknownValue    gate.Code = "correction.unknown-value"
	CodeUnchanged       gate.Code = "correction.unchanged"
	CodeApproverUnnamed gate.Code = "correction.approver-unnamed"
	// CodeDirect: the correction model was run with
	// Engine.Execute instead of Engine.Correct or
	// Engine.ReviewCorrection, so nothing checked what it corrects.
	CodeDirect gate.Code = "correction.direct"
)

// ErrInvalid is matched (errors.Is) by the error Correct and
// ReviewCorrection return for a malformed request; nothing is recorded.
var ErrInvalid = fmt.Errorf("correction: %w", interlock.ErrInvalid)

// ErrNotCorrection is matched (errors.Is) by the error ReviewCorrection
// returns when the version it is given is not a correction of the subject;
// nothing is recorded.
var ErrNotCorrection = fmt.Errorf("not a correction: %w", interlock.ErrInvalid)

// errCorrectionMoved says that the subject changed between the correction's
// preparation and the engine's evaluation, so the correction's data (its
// old value) may be stale; Correct prepares it again.
var errCorrectionMoved = errors.New("the corrected value changed while the correction was prepared")

// Policy says who may correct recorded values, whether a
// correction needs approval, and who may review one.
type Policy struct {
	// Roles: the corrector must hold one of them. At least one.
	Roles []string
	// RequireApproval makes every correction carry one e-signature meaning
	// "approved" by a person holding one of ApproverRoles who is neither
	// the corrector nor anyone who recorded the value corrected (its
	// original record or an earlier correction of it).
	RequireApproval bool
	// ApproverRoles: required when RequireApproval is set, and only then.
	ApproverRoles []string
	// ReviewerRoles: the reviewer of a correction must hold one of them.
	// At least one. The corrector may not review their own correction.
	ReviewerRoles []string
}

// Model is a correction policy built into the correction model
// (ModelName, version ModelVersion). Make one with
// NewModel; it is immutable and safe for concurrent use.
type Model struct {
	model  *mes.Model
	policy Policy
}

// NewModel validates p and builds the correction model. It
// returns a *DefinitionError (errors.Is ErrDefinition) listing every
// problem of the policy.
func NewModel(p Policy) (*Model, error) {
	var problems []string
	roles := func(field string, rs []string, required bool) {
		if required && len(rs) == 0 {
			problems = append(problems, field+" names no role")
		}
		if slices.Contains(rs, "") {
			problems = append(problems, field+" holds an empty role")
		}
	}
	roles("Roles", p.Roles, true)
	roles("ApproverRoles", p.ApproverRoles, p.RequireApproval)
	roles("ReviewerRoles", p.ReviewerRoles, true)
	if !p.RequireApproval && len(p.ApproverRoles) > 0 {
		problems = append(problems, "ApproverRoles are given but RequireApproval is not set")
	}
	if len(problems) > 0 {
		return nil, &mes.DefinitionError{Model: ModelName, Problems: problems}
	}
	p = Policy{Roles: slices.Clone(p.Roles), RequireApproval: p.RequireApproval,
		ApproverRoles: slices.Clone(p.ApproverRoles), ReviewerRoles: slices.Clone(p.ReviewerRoles)}
	mayCorrect, err := gate.RequireRole(p.Roles...)
	if err != nil {
		return nil, fmt.Errorf("correction: correction policy: %w", err)
	}
	correct := []mes.Option{mes.Recording(event.ValueCorrected), mes.WithGates(mayCorrect, correctionGate{})}
	if p.RequireApproval {
		correct = append(correct, mes.WithSignatures(mes.SignatureRequirement{
			Meaning: correctionMeaningApproval, Count: 1, Roles: p.ApproverRoles, NotPerformer: true}))
	}
	m, err := mes.NewModel(ModelName, ModelVersion).
		States(Initial, Corrected, Reviewed).
		Initial(Initial).Final(Reviewed).
		Permit(Initial, CmdCorrect, Corrected, correct...).
		Permit(Corrected, CmdReview, Reviewed, mes.Recording(event.CorrectionReviewed),
			mes.WithGates(reviewGate{}),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: correctionMeaningReview, Count: 1, Roles: p.ReviewerRoles, NotPerformer: true})).
		Build()
	if err != nil {
		return nil, err
	}
	return &Model{model: m, policy: p}, nil
}

// Model returns the state machine of one correction, for folding and
// drawing. Running it with Engine.Execute is denied (CodeDirect):
// use Engine.Correct and Engine.ReviewCorrection.
func (cm *Model) Model() *mes.Model { return cm.model }

// Policy returns the policy the model was built from.
func (cm *Model) Policy() Policy {
	p := cm.policy
	p.Roles, p.ApproverRoles, p.ReviewerRoles = slices.Clone(p.Roles), slices.Clone(p.ApproverRoles), slices.Clone(p.ReviewerRoles)
	return p
}

// ValueSource says where a recorded value lives in its record.
type ValueSource string

// The places a correctable value lives.
const (
	// SourceEvidence: a measured evidence value (gate.Evidence with
	// HasValue), found by the evidence's Name.
	SourceEvidence ValueSource = "evidence"
	// SourceData: a top-level member of the transition's data.
	SourceData ValueSource = "data"
)

// RecordedValue is a value as a record holds it: a measurement (Quantity
// and Unit) for evidence, or JSON for a member of a transition's data.
// Make one with Measured or JSONValue.
type RecordedValue struct {
	Quantity decimal.Decimal
	Unit     string          // set for a measurement, empty for JSON
	JSON     json.RawMessage // canonical; set for a data member, nil for a measurement
}

// Measured returns a measured value.
func Measured(q decimal.Decimal, unit string) RecordedValue {
	return RecordedValue{Quantity: q, Unit: unit}
}

// JSONValue returns a data value.
func JSONValue(raw json.RawMessage) RecordedValue { return RecordedValue{JSON: raw} }

// Source returns where a value of this kind lives.
func (v RecordedValue) Source() ValueSource {
	if v.JSON != nil {
		return SourceData
	}
	return SourceEvidence
}

// Equal reports whether v and w are the same value: the same unit and an
// equal quantity (12.5 equals 12.50), or the same canonical JSON.
func (v RecordedValue) Equal(w RecordedValue) bool {
	if (v.JSON != nil) != (w.JSON != nil) {
		return false
	}
	if v.JSON != nil {
		return bytes.Equal(v.JSON, w.JSON)
	}
	return v.Unit == w.Unit && v.Quantity.Equal(w.Quantity)
}

// String shows the value as a person reads it: "12.5 kg", or the JSON.
func (v RecordedValue) String() string {
	if v.JSON != nil {
		return string(v.JSON)
	}
	return v.Quantity.String() + " " + v.Unit
}

// check validates v as a new value.
func (v RecordedValue) check() (RecordedValue, error) {
	switch {
	case v.JSON != nil && (v.Unit != "" || !v.Quantity.IsZero()):
		return v, errors.New("the new value has both JSON and a quantity; give one")
	case v.JSON != nil:
		c, err := canonjson.Canonicalize(v.JSON)
		if err != nil {
			return v, fmt.Errorf("the new value is not JSON: %w", err)
		}
		v.JSON = c
	case v.Unit == "":
		return v, errors.New("the new value has neither JSON nor a unit; a measurement needs its unit")
	}
	return v, nil
}

// measuredJSON is how a measured value is written in a correction.
type measuredJSON struct {
	Unit  string          `json:"unit"`
	Value decimal.Decimal `json:"value"`
}

// encode writes v as a correction records it.
func (v RecordedValue) encode() (json.RawMessage, error) {
	if v.JSON != nil {
		return v.JSON, nil
	}
	b, err := json.Marshal(measuredJSON{Unit: v.Unit, Value: v.Quantity})
	if err != nil {
		return nil, err
	}
	return canonjson.Canonicalize(b)
}

// decodeValue reads a value a correction recorded.
func decodeValue(src ValueSource, raw json.RawMessage) (RecordedValue, error) {
	switch src {
	case SourceData:
		return RecordedValue{JSON: raw}, nil
	case SourceEvidence:
		var m measuredJSON
		if err := json.Unmarshal(raw, &m); err != nil {
			return RecordedValue{}, err
		}
		return Measured(m.Value, m.Unit), nil
	}
	return RecordedValue{}, fmt.Errorf("unknown value source %q", src)
}

// Correction asks to correct one value recorded by an earlier transition
// of a subject.
type Correction struct {
	ID      string // the command's ID; required. The same ID submitted again has one effect.
	Model   *Model // required
	Subject string // required
	// Corrects is the version of the record that holds the value: the
	// transition that recorded it, or an earlier correction of it. Either
	// way the correction replaces the value's current one.
	Corrects int64
	// Name is the evidence name (for a measured New) or the top-level data
	// member (for a JSON New) corrected. Required.
	Name string
	New  RecordedValue
	// Reason says why the value is corrected. A correction without one is
	// denied and recorded.
	Reason string
	Actor  string // the corrector; required
	// Signatures are the approvals ("approved") the model requires. Each
	// must name its signer in Challenge.UserID (a session challenge may
	// carry it too), so that self-approval is refused before anyone signs.
	Signatures []mes.Sign
}

// Data is the Data of a correction's own record (event.ValueCorrected):
// the version of the record whose value it corrects (always the original,
// also for a correction of a correction), the value's name and source, the
// values before and after, why, and the correction it replaces.
type Data struct {
	Corrects   int64           `json:"corrects"`
	Name       string          `json:"name"`
	Source     ValueSource     `json:"source"`
	Old        json.RawMessage `json:"old,omitempty"`
	New        json.RawMessage `json:"new"`
	Reason     string          `json:"reason,omitempty"`
	Supersedes int64           `json:"supersedes,omitempty"`
}

// ReviewData is the Data of a correction review's record
// (event.CorrectionReviewed): the version of the correction it reviews.
type ReviewData struct {
	Reviews int64 `json:"reviews"`
}

// correctionCall carries a prepared correction or review into the gates of
// the correction model, which check it against the records the engine
// evaluates with.
type correctionCall struct {
	c    *Correction
	data []byte // the correction's data as prepared
	// For a review: the correction reviewed.
	reviews int64
	step    string
}

type correctionCallKey struct{}

// Correct records a correction of a value: it checks the original record
// and the new value, runs the correction model's "correct" transition on
// the subject through Engine.Execute (gated on the corrector's role, the
// checks below, and the approval the policy requires), and returns its
// outcome. The original record stays as it was.
//
// The correction is denied, and the denied attempt recorded, when the
// reason is empty, the corrector lacks a role of the policy, the version is
// not in the subject, the record there is not an allowed transition (a
// denied attempt, a signature, a review), it holds no value Name of New's
// kind (measured evidence or data member), the new value equals the
// current one, or the approval is missing, unnamed, by someone without an
// approver role, or by the corrector or anyone who recorded the value.
// Denials return the Outcome and a *DeniedError, as Execute does.
//
// A malformed request (no ID, model, subject, actor or name; a new value
// that is neither one measurement nor JSON) returns an error for which
// errors.Is(err, ErrInvalid) is true; nothing is recorded.
func Correct(ctx context.Context, e *mes.Engine, c Correction) (*mes.Outcome, error) {
	var err error
	switch {
	case c.ID == "":
		err = errors.New("no command ID")
	case c.Model == nil:
		err = errors.New("no correction model")
	case c.Subject == "":
		err = errors.New("no subject")
	case c.Actor == "":
		err = errors.New("no actor")
	case c.Name == "":
		err = errors.New("no value name")
	}
	if err == nil {
		c.New, err = c.New.check()
	}
	if err != nil {
		return nil, fmt.Errorf("correction: correct %s: %w: %w", c.Subject, ErrInvalid, err)
	}
	for attempt := 0; ; attempt++ {
		recs, err := e.Records(ctx, c.Subject)
		if err != nil {
			return nil, fmt.Errorf("correction: correct: load %s: %w", c.Subject, err)
		}
		var data []byte
		if t := mes.RecordedTransition(recs, c.ID); t != nil {
			// A retry: the correction's data as first recorded, so the
			// engine replays it.
			data = t.Data
		} else if data, _, err = prepareCorrection(recs, &c); err != nil {
			return nil, err
		}
		call := &correctionCall{c: &c, data: data}
		out, err := e.Execute(context.WithValue(ctx, correctionCallKey{}, call), mes.Request{
			ID: c.ID, Model: c.Model.model, Subject: c.Subject, Step: Step(c.ID),
			Command: CmdCorrect, Actor: c.Actor, Data: data, Signatures: c.Signatures,
		})
		if errors.Is(err, errCorrectionMoved) && attempt < e.MaxRetries() {
			continue
		}
		return out, err
	}
}

// Review asks to review a correction.
type Review struct {
	ID      string // the command's ID; required
	Model   *Model // required
	Subject string // required
	Reviews int64  // the version of the correction's record
	Actor   string // required
	// Signatures: the review's signature meaning "reviewed", by a person
	// holding a reviewer role who did not make the correction.
	Signatures []mes.Sign
}

// ReviewCorrection records the review of a correction: the correction
// model's "review" transition in the correction's step, with its data
// {"reviews": version} and the signature meaning "reviewed". A review
// signed by the corrector (signature.self), by someone without a reviewer
// role, without a signature, or of a correction already reviewed
// (transition.illegal) is denied and recorded.
//
// A version that is not an allowed correction of the subject returns an
// error for which errors.Is(err, ErrNotCorrection) is true, and a
// malformed request one for which errors.Is(err, ErrInvalid);
// nothing is recorded then.
func ReviewCorrection(ctx context.Context, e *mes.Engine, r Review) (*mes.Outcome, error) {
	var err error
	switch {
	case r.ID == "":
		err = errors.New("no command ID")
	case r.Model == nil:
		err = errors.New("no correction model")
	case r.Subject == "":
		err = errors.New("no subject")
	case r.Actor == "":
		err = errors.New("no actor")
	}
	if err != nil {
		return nil, fmt.Errorf("correction: review correction on %s: %w: %w", r.Subject, ErrInvalid, err)
	}
	recs, err := e.Records(ctx, r.Subject)
	if err != nil {
		return nil, fmt.Errorf("correction: review correction: load %s: %w", r.Subject, err)
	}
	step, err := correctionStepAt(recs, r.Reviews)
	if err != nil {
		return nil, fmt.Errorf("correction: review correction on %s: %w", r.Subject, err)
	}
	data, err := json.Marshal(ReviewData{Reviews: r.Reviews})
	if err != nil {
		return nil, fmt.Errorf("correction: encode review: %w", err)
	}
	call := &correctionCall{reviews: r.Reviews, step: step}
	return e.Execute(context.WithValue(ctx, correctionCallKey{}, call), mes.Request{
		ID: r.ID, Model: r.Model.model, Subject: r.Subject, Step: step,
		Command: CmdReview, Actor: r.Actor, Data: data, Signatures: r.Signatures,
	})
}

// correctionStepAt returns the step of the correction recorded at version.
func correctionStepAt(recs []audit.Record, version int64) (string, error) {
	if version < 1 || version > int64(len(recs)) {
		return "", fmt.Errorf("%w: version %d is not in the stream (%d records)", ErrNotCorrection, version, len(recs))
	}
	r := &recs[version-1]
	if r.Type != event.ValueCorrected {
		return "", fmt.Errorf("%w: v%d is a %s record", ErrNotCorrection, version, r.Type)
	}
	var p event.Transition
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return "", fmt.Errorf("%s v%d: %w", r.Stream, r.Version, err)
	}
	if p.Model != ModelName || !strings.HasPrefix(p.Step, correctionStepPrefix) {
		return "", fmt.Errorf("%w: v%d was recorded by model %q, step %q", ErrNotCorrection, version, p.Model, p.Step)
	}
	return p.Step, nil
}

// resolved is what a correction corrects, as the subject's records show it.
type resolved struct {
	root       *audit.Record // the record that first recorded the value
	source     ValueSource
	original   RecordedValue
	current    RecordedValue
	latest     int64    // the version of the value's latest correction; 0 when none
	recordedBy []string // the actors of the original and of its corrections
}

// prepareCorrection decides the data of a correction against the subject's
// records, and the reasons to deny it.
func prepareCorrection(recs []audit.Record, c *Correction) ([]byte, []gate.Reason, error) {
	res, reasons, err := resolveCorrection(recs, c.Corrects, c.Name, c.New.Source())
	if err != nil {
		return nil, nil, err
	}
	d := Data{Corrects: c.Corrects, Name: c.Name, Source: c.New.Source(), Reason: c.Reason}
	if d.New, err = c.New.encode(); err != nil {
		return nil, nil, fmt.Errorf("correction: encode correction: %w", err)
	}
	if res != nil {
		d.Corrects, d.Supersedes = res.root.Version, res.latest
		if d.Old, err = res.current.encode(); err != nil {
			return nil, nil, fmt.Errorf("correction: encode correction: %w", err)
		}
		if res.current.Equal(c.New) {
			reasons = append(reasons, correctionReason(CodeUnchanged,
				"%s of %s v%d is %s already; a correction must change it", c.Name, res.root.Stream, res.root.Version, c.New))
		}
	}
	if strings.TrimSpace(c.Reason) == "" {
		reasons = append(reasons, correctionReason(CodeNoReason, "a correction needs a reason"))
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, nil, fmt.Errorf("correction: encode correction: %w", err)
	}
	if b, err = canonjson.Canonicalize(b); err != nil {
		return nil, nil, fmt.Errorf("correction: encode correction: %w", err)
	}
	if res != nil {
		for _, s := range c.Signatures {
			if s.Meaning != correctionMeaningApproval {
				continue // the engine denies meanings the model does not ask for
			}
			who := s.Challenge.UserID
			switch {
			case who == "":
				reasons = append(reasons, correctionReason(CodeApproverUnnamed,
					"an approval of a correction must name its signer (Challenge.UserID)"))
			case who == c.Actor:
				reasons = append(reasons, gate.Reason{Gate: correctionGateName, Code: mes.CodeSignatureSelf,
					Message: fmt.Sprintf("%s makes the correction and may not approve it", who)})
			case slices.Contains(res.recordedBy, who):
				reasons = append(reasons, gate.Reason{Gate: correctionGateName, Code: mes.CodeSignatureSelf,
					Message: fmt.Sprintf("%s recorded %s of %s and may not approve correcting it", who, c.Name, res.root.Stream)})
			}
		}
	}
	return b, reasons, nil
}

func correctionReason(code gate.Code, format string, args ...any) gate.Reason {
	return gate.Reason{Gate: correctionGateName, Code: code, Message: fmt.Sprintf(format, args...)}
}

// resolveCorrection finds the value a correction of (version, name) of
// source corrects. It returns nil and the reasons when there is none.
func resolveCorrection(recs []audit.Record, version int64, name string, source ValueSource) (*resolved, []gate.Reason, error) {
	deny := func(code gate.Code, format string, args ...any) (*resolved, []gate.Reason, error) {
		return nil, []gate.Reason{correctionReason(code, format, args...)}, nil
	}
	if version < 1 || version > int64(len(recs)) {
		return deny(CodeUnknownRecord, "there is no record %d to correct; the subject has %d", version, len(recs))
	}
	target := &recs[version-1]
	if target.Type == event.ValueCorrected {
		var p event.Transition
		var d Data
		if err := decodeCorrection(target, &p, &d); err != nil {
			return nil, nil, err
		}
		if p.Model != ModelName || d.Corrects < 1 || d.Corrects >= version {
			return deny(CodeNotCorrectable, "%s v%d is not a correction made by model %q", target.Stream, version, ModelName)
		}
		if d.Name != name || d.Source != source {
			return deny(CodeUnknownValue, "%s v%d corrects %s %q, not %s %q", target.Stream, version, d.Source, d.Name, source, name)
		}
		target = &recs[d.Corrects-1]
	}
	if !correctable(recs, target) {
		return deny(CodeNotCorrectable, "%s v%d is a %s record; only values an allowed transition recorded can be corrected",
			target.Stream, target.Version, target.Type)
	}
	original, ok, err := valueIn(target, name, source)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return deny(CodeUnknownValue, "%s v%d (%s) holds no %s value %q", target.Stream, target.Version, target.Type, source, name)
	}
	res := &resolved{root: target, source: source, original: original, current: original, recordedBy: []string{target.Actor}}
	for i := int(target.Version); i < len(recs); i++ {
		r := &recs[i]
		if r.Type != event.ValueCorrected {
			continue
		}
		var p event.Transition
		var d Data
		if err := decodeCorrection(r, &p, &d); err != nil {
			return nil, nil, err
		}
		if p.Model != ModelName || d.Corrects != target.Version || d.Name != name || d.Source != source {
			continue
		}
		if res.current, err = decodeValue(source, d.New); err != nil {
			return nil, nil, fmt.Errorf("correction: %s v%d: new value: %w", r.Stream, r.Version, err)
		}
		res.latest = r.Version
		res.recordedBy = append(res.recordedBy, r.Actor)
	}
	return res, nil, nil
}

func decodeCorrection(r *audit.Record, p *event.Transition, d *Data) error {
	if err := json.Unmarshal(r.Payload, p); err != nil {
		return fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
	}
	if len(p.Data) == 0 {
		return fmt.Errorf("correction: %s v%d: a %s record without data", r.Stream, r.Version, r.Type)
	}
	if err := json.Unmarshal(p.Data, d); err != nil {
		return fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
	}
	return nil
}

// correctable reports whether r is the own record of an allowed transition
// other than a correction's: the first record of its command, with a model
// and a state it led to.
func correctable(recs []audit.Record, r *audit.Record) bool {
	switch r.Type {
	case event.Denied, event.SignatureApplied, event.ValueCorrected, event.CorrectionReviewed:
		return false
	}
	var p event.Transition
	if err := json.Unmarshal(r.Payload, &p); err != nil || p.Model == "" || p.To == "" || p.CommandID == "" || p.Model == ModelName {
		return false
	}
	if r.Version > 1 {
		// A transition recording several events repeats its payload in
		// each; its values belong to the first.
		var prev event.Transition
		if err := json.Unmarshal(recs[r.Version-2].Payload, &prev); err == nil && prev.CommandID == p.CommandID {
			return false
		}
	}
	return true
}

// valueIn returns the value name of source that record r holds.
func valueIn(r *audit.Record, name string, source ValueSource) (RecordedValue, bool, error) {
	switch source {
	case SourceEvidence:
		var evs []gate.Evidence
		if len(r.Evidence) > 0 {
			if err := json.Unmarshal(r.Evidence, &evs); err != nil {
				return RecordedValue{}, false, fmt.Errorf("correction: %s v%d: evidence: %w", r.Stream, r.Version, err)
			}
		}
		for _, ev := range evs {
			if ev.Name == name && ev.HasValue {
				return Measured(ev.Value, ev.Unit), true, nil
			}
		}
	case SourceData:
		var p event.Transition
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return RecordedValue{}, false, fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
		}
		if len(p.Data) == 0 {
			return RecordedValue{}, false, nil
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(p.Data, &members); err != nil {
			return RecordedValue{}, false, fmt.Errorf("correction: %s v%d: data: %w", r.Stream, r.Version, err)
		}
		if v, ok := members[name]; ok {
			c, err := canonjson.Canonicalize(v)
			if err != nil {
				return RecordedValue{}, false, fmt.Errorf("correction: %s v%d: data %q: %w", r.Stream, r.Version, name, err)
			}
			return JSONValue(c), true, nil
		}
	}
	return RecordedValue{}, false, nil
}

// callOf returns the correction the gates of the correction model check,
// and the records the engine evaluates with.
func callOf(ctx context.Context, a *gate.Attempt, f gate.Facts) (*correctionCall, []audit.Record, error) {
	call, _ := ctx.Value(correctionCallKey{}).(*correctionCall)
	if call == nil {
		return nil, nil, nil
	}
	sf, ok := f.(mes.RecordReader)
	if !ok {
		return nil, nil, fmt.Errorf("correction: the correction gate needs the engine's facts, not %T", f)
	}
	recs, err := sf.Records(ctx, a.Subject)
	if err != nil {
		return nil, nil, err
	}
	return call, recs, nil
}

var directReason = gate.Reason{Gate: correctionGateName, Code: CodeDirect,
	Message: "corrections are made with Engine.Correct and reviewed with Engine.ReviewCorrection, which check what they correct"}

// correctionGate checks a correction against the subject's records as the
// engine read them. If those moved since the correction was prepared, it
// fails to evaluate (errCorrectionMoved) so that Correct prepares it again.
type correctionGate struct{}

// Check implements gate.Gate.
func (correctionGate) Check(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	call, recs, err := callOf(ctx, a, f)
	if err != nil {
		return gate.Verdict{}, err
	}
	if call == nil || call.c == nil {
		return gate.Fail(directReason), nil
	}
	data, reasons, err := prepareCorrection(recs, call.c)
	if err != nil {
		return gate.Verdict{}, err
	}
	if !bytes.Equal(data, call.data) {
		return gate.Verdict{}, errCorrectionMoved
	}
	if len(reasons) > 0 {
		return gate.Fail(reasons[0], reasons[1:]...), nil
	}
	return gate.Pass(), nil
}

// reviewGate checks that a review names the correction of its step.
type reviewGate struct{}

// Check implements gate.Gate.
func (reviewGate) Check(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	call, recs, err := callOf(ctx, a, f)
	if err != nil {
		return gate.Verdict{}, err
	}
	if call == nil || call.c != nil {
		return gate.Fail(directReason), nil
	}
	if step, err := correctionStepAt(recs, call.reviews); err != nil || step != call.step {
		return gate.Verdict{}, fmt.Errorf("correction: review of v%d in step %q: %w", call.reviews, call.step, ErrNotCorrection)
	}
	return gate.Pass(), nil
}
