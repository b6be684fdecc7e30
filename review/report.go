package review

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
)

// Reader is what a review reads from the record. Every storage.Store is
// one.
type Reader interface {
	// Load returns the records of stream from version from on, in version
	// order; a stream without records gives none and no error.
	Load(ctx context.Context, stream string, from int64) ([]audit.Record, error)
	// ReadAll returns up to limit records after global position after, in
	// global order.
	ReadAll(ctx context.Context, after int64, limit int) ([]audit.Record, error)
}

// ErrNoRecords is matched (errors.Is) by the error Build returns for a
// batch whose stream holds no records.
var ErrNoRecords = errors.New("review: no records")

// Options configures Build. The zero value is valid.
type Options struct {
	// SealKey is the system's public key that seals electronic
	// signatures. With it every signature is verified against the exact
	// record it signs; without it signatures are shown, marked
	// StatusNotChecked.
	SealKey ed25519.PublicKey
	// SigningKeys are the signing keys the trail records (mes.SigningKeys,
	// with the engine's attestation keys). With them each signature is
	// verified under the key in force when it was made
	// (mes.VerifySignaturesWith), so a key retired by a rotation cannot
	// seal anew. Give SigningKeys or SealKey, not both.
	SigningKeys []mes.SigningKey
	// Attestation holds the engine's attestation keys. With them every
	// record of the batch must carry a valid attestation (see
	// audit.Attested): one that does not was written around the engine,
	// and its command is listed as a KindUnattested exception, never as
	// routine, and the report's Integrity is not OK. Without them
	// attestations are not checked.
	Attestation *audit.Attested
}

// Kind names a kind of exception. Each entry of a report has one Kind,
// the first of these that applies, and lists the others that also apply
// in Also, in the order of Kinds.
type Kind string

// The kinds of exception a report lists in full.
const (
	// KindUnattested: a record of the command carries no valid engine
	// attestation (Options.Attestation): it did not come through the
	// engine's gates, whatever it says. It comes first: nothing else a
	// record claims counts until this is explained.
	KindUnattested Kind = "unattested"
	// KindOutOfLimit: a measured value outside its limits was accepted
	// onto the record (a gate override of a limit check), or an exception
	// of kind "out-of-limit" was opened.
	KindOutOfLimit Kind = "out-of-limit"
	// KindOverride: failed gates were overridden by a signed approval.
	KindOverride Kind = "override"
	// KindManualEntry: an allowed transition carries evidence typed by a
	// person (gate.SourceManual).
	KindManualEntry Kind = "manual-entry"
	// KindSubstitution: an exception dispositioned "substitute", or of kind
	// "substitution".
	KindSubstitution Kind = "substitution"
	// KindRework: an exception dispositioned "rework", or of kind "rework".
	KindRework Kind = "rework"
	// KindDeviation: any other exception (deviation, hold, …).
	KindDeviation Kind = "deviation"
	// KindCorrection: a recorded value was corrected.
	KindCorrection Kind = "correction"
	// KindDenied: an attempt was denied (one that caused an exception is
	// shown with that exception instead).
	KindDenied Kind = "denied-attempt"
	// KindUnrecognised: a record of the batch this package cannot read. It
	// is listed so that nothing on the record escapes review.
	KindUnrecognised Kind = "unrecognised"
)

// kinds lists every Kind in the order reports count them.
var kinds = []Kind{KindUnattested, KindOutOfLimit, KindOverride, KindManualEntry, KindSubstitution, KindRework,
	KindDeviation, KindCorrection, KindDenied, KindUnrecognised}

// Kinds returns every Kind, in the order reports count them.
func Kinds() []Kind { return slices.Clone(kinds) }

// Report is a batch record reviewed by exception: routine steps in
// summary, every exception in full, every signature's manifestation and
// the verification of the audit chains it was read from. Build makes one;
// WriteJSON and WriteHTML present it.
type Report struct {
	Batch string `json:"batch"`
	// AsOf is the last record of the batch the report was built from.
	AsOf EventRef `json:"as_of"`
	// State is the batch's state after its last allowed transition of its
	// own (not of a step); "" when it has none.
	State string `json:"state"`
	// Models are the models and versions executed on the batch, in the
	// order they first appear, such as "dispense v1".
	Models  []string `json:"models"`
	Summary Summary  `json:"summary"`
	// Routine summarises the transitions that raised no exception, one line
	// per step (Step "" is the batch's own model).
	Routine []RoutineStep `json:"routine"`
	// Exceptions lists every exception once, in record order. It is empty,
	// never nil, for a clean batch.
	Exceptions []Entry `json:"exceptions"`
	// Signatures lists every electronic signature on the streams read, in
	// record order.
	Signatures []Signature `json:"signatures"`
	Integrity  Integrity   `json:"integrity"`
}

// Summary counts what the report holds.
type Summary struct {
	Records     int `json:"records"`     // records of the batch stream
	Transitions int `json:"transitions"` // allowed transitions on the batch stream
	Routine     int `json:"routine"`     // of which raised no exception
	Exceptions  int `json:"exceptions"`  // entries in Exceptions
	Open        int `json:"open"`        // entries that still need action before release
	Denied      int `json:"denied"`      // denied attempts, listed on their own or with their exception
	Signatures  int `json:"signatures"`  // entries in Signatures
	// ByKind counts the entries of each kind by their Kind (not Also); a
	// kind without entries is absent.
	ByKind map[Kind]int `json:"by_kind"`
}

// EventRef names one record and the hash that proves it.
type EventRef struct {
	Stream   string     `json:"stream"`
	Version  int64      `json:"version"`
	Position int64      `json:"position"`
	Hash     audit.Hash `json:"hash"`
	Type     string     `json:"type"`
	Actor    string     `json:"actor"`
	Time     time.Time  `json:"time"`
}

func refOf(r *audit.Record) EventRef {
	return EventRef{Stream: r.Stream, Version: r.Version, Position: r.Position, Hash: r.Hash, Type: r.Type, Actor: r.Actor, Time: r.Time}
}

// RoutineStep summarises the routine transitions of one step.
type RoutineStep struct {
	Step  string `json:"step"` // "" for the batch's own model
	Model string `json:"model"`
	// Transitions counts the step's routine transitions, and Commands
	// lists them in order as "command → state".
	Transitions int      `json:"transitions"`
	Commands    []string `json:"commands"`
	State       string   `json:"state"`  // the state its last routine transition led to
	Actors      []string `json:"actors"` // who performed them, sorted
	// Signatures counts the signatures given with them (each is listed in
	// Report.Signatures).
	Signatures int       `json:"signatures"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// Reason is a gate failure as a record holds it.
type Reason struct {
	Gate    string `json:"gate"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Evidence is a piece of evidence as a record holds it.
type Evidence struct {
	Name       string `json:"name"`
	Identity   string `json:"identity,omitempty"`
	Value      string `json:"value,omitempty"` // the exact decimal; "" when none was measured
	Unit       string `json:"unit,omitempty"`
	Source     string `json:"source"`
	Instrument string `json:"instrument,omitempty"`
	Stable     bool   `json:"stable"`
	// Raw is the instrument's frame the value was read from, and At when
	// it gave the reading, as the record holds them; empty when it does
	// not (manual entry, a derived value, an older record).
	Raw string    `json:"raw,omitempty"`
	At  time.Time `json:"at,omitzero"`
}

// Entry is one exception with everything a reviewer needs to judge it.
type Entry struct {
	Kind Kind   `json:"kind"`
	Also []Kind `json:"also,omitempty"`
	// Summary says what happened in one sentence.
	Summary string `json:"summary"`
	// Record is the entry's main record: the transition, denied attempt,
	// correction or exception marker on the batch.
	Record  EventRef `json:"record"`
	Step    string   `json:"step,omitempty"`
	Model   string   `json:"model,omitempty"`
	Command string   `json:"command,omitempty"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	// Reasons are why an attempt was denied, or which failures an
	// override let pass.
	Reasons []Reason `json:"reasons,omitempty"`
	// OverrideReason is the reason an override was approved with.
	OverrideReason string      `json:"override_reason,omitempty"`
	Evidence       []Evidence  `json:"evidence,omitempty"`
	Correction     *Correction `json:"correction,omitempty"`
	Exception      *Exception  `json:"exception,omitempty"`
	// Signatures are those given on the entry's records.
	Signatures []Signature `json:"signatures,omitempty"`
	// Open is set while the entry needs action before release: an
	// exception not closed, a correction not reviewed.
	Open bool `json:"open"`
	// Problem says what could not be read, for KindUnrecognised entries
	// and for entries whose records are incomplete.
	Problem string `json:"problem,omitempty"`
	// Events are every record the entry is made of, in stream and version
	// order: the batch's first.
	Events []EventRef `json:"events"`
}

// Correction is a corrected value: the original record and value, the
// value before and after, and the review.
type Correction struct {
	Corrects EventRef `json:"corrects"` // the record that first recorded the value
	Name     string   `json:"name"`
	Source   string   `json:"source"` // "evidence" or "data"
	// Original, Old and New are the values as a person reads them: "12.5
	// kg" for a measurement, JSON text for a data member. Original is ""
	// when the original record does not hold the value.
	Original   string `json:"original"`
	Old        string `json:"old"`
	New        string `json:"new"`
	Reason     string `json:"reason"`
	Supersedes int64  `json:"supersedes,omitempty"` // the version of the correction it replaced
	// Review is the review's record; nil while the correction is not
	// reviewed.
	Review *EventRef `json:"review,omitempty"`
}

// Exception is an exception as its own stream tells it.
type Exception struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Summary     string    `json:"summary"`
	Source      string    `json:"source,omitempty"`
	Consequence string    `json:"consequence,omitempty"`
	Step        string    `json:"step,omitempty"`
	State       string    `json:"state"`
	Closed      bool      `json:"closed"`
	Cause       *EventRef `json:"cause,omitempty"` // the record that caused it, such as a denied attempt
	// Disposition is the current one; nil while none is pending.
	Disposition *Disposition `json:"disposition,omitempty"`
	Rejected    int          `json:"rejected"` // dispositions rejected
	CAPA        []string     `json:"capa,omitempty"`
	// History lists the records of the exception's stream.
	History []ExceptionEvent `json:"history"`
}

// Disposition is the decision taken on an exception.
type Disposition struct {
	Decision   string `json:"decision"`
	Rationale  string `json:"rationale"`
	CAPA       string `json:"capa,omitempty"`
	Substitute string `json:"substitute,omitempty"`
	By         string `json:"by"`
}

// ExceptionEvent is one record of an exception's stream.
type ExceptionEvent struct {
	Event EventRef `json:"event"`
	From  string   `json:"from,omitempty"`
	To    string   `json:"to,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// SignatureStatus says whether a signature verified.
type SignatureStatus string

// The statuses of a signature.
const (
	StatusValid      SignatureStatus = "valid"
	StatusInvalid    SignatureStatus = "invalid"
	StatusNotChecked SignatureStatus = "not-checked" // neither Options.SealKey nor SigningKeys
)

// Signature is one electronic signature's manifestation, the record it
// signs and whether it verified.
type Signature struct {
	SignerID    string          `json:"signer_id"`
	PrintedName string          `json:"printed_name"`
	Time        time.Time       `json:"time"`
	Meaning     string          `json:"meaning"`
	Reason      string          `json:"reason"`
	Signs       EventRef        `json:"signs"`  // the signed record
	Record      EventRef        `json:"record"` // the record holding the signature
	Status      SignatureStatus `json:"status"`
	Problem     string          `json:"problem,omitempty"`
}

// Integrity is the verification of what the report was read from.
type Integrity struct {
	// OK is set when every chain verifies, no signature is invalid and,
	// with Options.Attestation, every record is attested.
	OK bool `json:"ok"`
	// Unattested counts the records without a valid attestation; 0 when
	// attestations were not checked.
	Unattested int     `json:"unattested,omitempty"`
	Chains     []Chain `json:"chains"`
	// Signatures counts signatures by status.
	Signatures map[SignatureStatus]int `json:"signatures"`
}

// Chain is the verification of one stream's hash chain, recomputed from
// its records.
type Chain struct {
	Stream  string     `json:"stream"`
	Records int        `json:"records"`
	Head    audit.Hash `json:"head"` // the hash of its last record
	OK      bool       `json:"ok"`
	// Break is the first break; nil when the chain verifies.
	Break *Break `json:"break,omitempty"`
}

// Break is where and how a chain is broken (see audit.BreakError).
type Break struct {
	Version int64  `json:"version"`
	Kind    string `json:"kind"`
	Want    string `json:"want"`
	Got     string `json:"got"`
}

// Build reads the batch's stream and the exception streams it names, and
// returns the batch record reviewed by exception. The report is a function
// of the records alone: built twice from the same records it is the same.
//
// It returns an error for which errors.Is(err, ErrNoRecords) is true when
// the batch has no records, and the store's error, wrapped, when a stream
// cannot be read. Records it cannot interpret do not fail it: they are
// listed as KindUnrecognised entries, and a broken chain or an invalid
// signature is reported in Integrity.
func Build(ctx context.Context, src Reader, batch string, opts *Options) (*Report, error) {
	if src == nil {
		return nil, errors.New("review: Build: reader is nil")
	}
	recs, err := src.Load(ctx, batch, 1)
	if err != nil {
		return nil, fmt.Errorf("review: load %s: %w", batch, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("review: batch %q: %w", batch, ErrNoRecords)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.SealKey != nil && o.SigningKeys != nil {
		return nil, errors.New("review: Build: Options give both SealKey and SigningKeys; give one")
	}
	b := newBuilder(batch, recs, o)
	b.classify()
	if err := b.readExceptions(ctx, src); err != nil {
		return nil, err
	}
	return b.report(), nil
}

// modelOf names the model a transition ran, with its version; "" when the
// record names none.
func modelOf(t *event.Transition) string {
	if t.Model == "" {
		return ""
	}
	return fmt.Sprintf("%s v%d", t.Model, t.ModelVersion)
}

// decoded is a record with its payload read through package event: a
// transition (or denied attempt) in p; a marker's command id and data in
// p too; a signature's command id in p.
type decoded struct {
	rec *audit.Record
	p   event.Transition
	err error // why the payload could not be read
}

func decode(r *audit.Record) decoded {
	d := decoded{rec: r}
	pl, err := event.Decode(r)
	if err != nil {
		d.err = fmt.Errorf("payload: %w", err)
		return d
	}
	switch v := pl.(type) {
	case *event.Transition:
		d.p = *v
	case *event.Marker:
		d.p.CommandID, d.p.Data = v.CommandID, v.Data
	case *event.Signature:
		d.p.CommandID = v.CommandID
	case *event.Consumed:
		d.p.CommandID = v.CommandID
	}
	return d
}
