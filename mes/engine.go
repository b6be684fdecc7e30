package mes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/interlock-mes/interlock"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/internal/quantity"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// Config configures an Engine. The zero value is valid.
type Config struct {
	// Clock gives the time of attempts. Default: time.Now. Records are
	// stamped by the store's own clock.
	Clock storage.Clock
	// MaxRetries bounds how often a command is evaluated again after the
	// streams it read moved under it. Default 10; it must not be negative.
	MaxRetries int
	// Signer makes the electronic signatures transitions require
	// (Request.Signatures). Without one, a command that gives signatures
	// fails with an error and nothing is recorded.
	Signer *signature.Signer
	// Attestation holds the engine's attestation keys. With them, every
	// record the engine writes carries an attestation by the current key
	// (see audit.Attester), proof that it was written by the engine after
	// its gates passed; and the engine folds a subject's state only from
	// transition records that carry a valid one by any of the keys, so
	// that a record written around the engine moves nothing (the command
	// fails with an *UnprovenError). Keep the keys outside the database.
	// Without them records are not attested, and the engine still refuses
	// a transition record its model does not allow.
	Attestation *audit.Attested
	// Logger receives the engine's logs: denials at Info, failures at
	// Error (Warn for an unknown outcome), the rest at Debug. Default:
	// silent.
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive a span per Execute
	// ("interlock.execute", with its outcome and a "gate failed" event
	// per reason) and the metrics interlock.commands (by model, command
	// and outcome), interlock.gate.failures (by gate and code),
	// interlock.retries and interlock.append.duration. Only these are used:
	// the engine reads no global provider. Default: none.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Engine runs commands through models, gates and the store. It holds no
// state of its own between calls: many engines may share one store, and
// correctness comes from the store's optimistic concurrency. It is safe for
// concurrent use.
type Engine struct {
	store      storage.Store
	clock      storage.Clock
	maxRetries int
	signer     *signature.Signer
	attest     *audit.Attested
	obs        *observer
	cache      *cache
	subjects   *subjects
}

// New returns an engine over store. cfg may be nil.
func New(store storage.Store, cfg *Config) (*Engine, error) {
	if store == nil {
		return nil, errors.New("mes: New: store is nil")
	}
	e := &Engine{store: store, clock: time.Now, maxRetries: 10, cache: newCache(), subjects: newSubjects()}
	if cfg != nil {
		if cfg.Clock != nil {
			e.clock = cfg.Clock
		}
		if cfg.MaxRetries < 0 {
			return nil, fmt.Errorf("mes: New: Config.MaxRetries is %d; it must not be negative", cfg.MaxRetries)
		}
		if cfg.MaxRetries > 0 {
			e.maxRetries = cfg.MaxRetries
		}
		e.signer = cfg.Signer
		e.attest = cfg.Attestation
	}
	obs, err := newObserver(cfg)
	if err != nil {
		return nil, fmt.Errorf("mes: New: metrics: %w", err)
	}
	e.obs = obs
	return e, nil
}

// Request asks the engine to run one command on one subject.
type Request struct {
	// ID identifies the command. The same ID submitted again (a retry after
	// a timeout) has one effect and one record. Required.
	ID      string
	Model   *Model
	Subject string // the stream acted on, such as "batch-B42"
	// Step, when set, runs Model (a step model) for that step of Subject:
	// the step's events live in the subject's stream, each naming the step.
	Step     string
	Command  Command
	Actor    string
	Refs     map[string]string // named references gates read, such as "lot"
	Evidence []gate.Evidence
	// Data is recorded with the transition, as a JSON object; may be empty.
	Data json.RawMessage
	// Consume lists material taken into the subject by this transition.
	// Each lot must be usable (released, not expired, not on hold) and hold
	// enough of the quantity in the same unit; the lot stream's consumption
	// is appended atomically with the transition, at the version the checks
	// read, so two subjects can never over-consume one lot.
	Consume []event.Consumption
	// Produce lists the lots the transition makes: a batch's outputs, or
	// the parts a lot (the subject) is split into. Each must be new; its
	// first record is appended atomically with the transition.
	Produce []Production
	// Declare says what the subject is, for the lot graph: a received lot
	// with its supplier lot, a shipment with its customer. Optional.
	Declare *Declaration
	// Location is where the command is given (ReadPoint: the station or
	// equipment) and where its things are after it (BizLocation: the
	// site, area or room), as a person or the station says; References
	// are the business documents it belongs to (a purchase order, a bill
	// of lading). Both are recorded with the transition, allowed or
	// denied, and the lot graph exports them (EPCIS readPoint,
	// bizLocation, bizTransactionList; the FSMA 204 location and
	// reference-document columns). Optional.
	Location   *event.Location
	References []event.Reference
	// Signatures are the electronic signatures given with the command. The
	// engine re-authenticates each signer, checks them against the
	// transition's SignatureRequirements once every gate has passed, and
	// records each signature right after the transition's events, bound to
	// the exact canonical payload of the transition's own record.
	Signatures []Sign
	// Override asks to proceed although gates of the transition fail, where
	// the model allows it (AllowOverride). See Override.
	Override *Override
}

// Override is the approval to proceed past failed gates: a reason and the
// e-signature (meaning "override") of a person who holds a role the
// transition's OverridePolicy names and is not the executor. The engine
// records the failures it overrode in the transition's payload ("override"),
// the signature after it, and opens a deviation (exception
// "override-<command id>") on the subject. An override given when no gate
// failed, or for failures that cannot be overridden, is denied.
type Override struct {
	Reason string
	Sign   Sign // Meaning is ignored: an override signature means "override"
}

// MeaningOverride is the meaning of an override's signature.
const MeaningOverride Meaning = "override"

// Outcome is what running a command did.
type Outcome struct {
	Allowed  bool
	From, To State // To equals From when the command was denied
	Reasons  []gate.Reason
	Records  []audit.Record // what was appended, the subject's first
	Replayed bool           // the command had run before; nothing was appended now
	// Signatures are the signatures recorded, in the order of
	// Request.Signatures, and Sessions the signing sessions they continued
	// or began (present a session's ID with the secret to sign again within
	// it). Both are empty for a replayed command.
	Signatures []*signature.Signature
	Sessions   []signature.Session
}

// ErrDenied is matched (errors.Is) by every *DeniedError.
var ErrDenied = errors.New("command denied")

// DeniedError says that a command was denied and why. The denied attempt is
// on the record; the subject's state did not change.
type DeniedError struct {
	Command Command
	Subject string
	State   State
	Reasons []gate.Reason
	// Illegal is set when the model does not permit the command in State.
	Illegal *IllegalTransitionError
}

func (e *DeniedError) Error() string {
	if e.Illegal != nil {
		return fmt.Sprintf("mes: %s on %s denied: %v", e.Command, e.Subject, e.Illegal)
	}
	return fmt.Sprintf("mes: %s on %s denied in state %q: %d gate(s) failed, first %s: %s",
		e.Command, e.Subject, e.State, len(e.Reasons), e.Reasons[0].Code, e.Reasons[0].Message)
}

// Is makes errors.Is(err, ErrDenied) true, and errors.Is(err,
// ErrIllegalTransition) for an illegal command.
func (e *DeniedError) Is(target error) bool {
	return target == ErrDenied || (e.Illegal != nil && target == ErrIllegalTransition)
}

// RequestError says which field of a Request is wrong; nothing was
// decided or recorded. It matches interlock.ErrInvalid.
type RequestError struct {
	Field  string // such as "ID", "Consume", "Data"
	Reason string
}

func (e *RequestError) Error() string { return "mes: request " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, interlock.ErrInvalid) true.
func (e *RequestError) Unwrap() error { return interlock.ErrInvalid }

func invalidRequest(field, format string, args ...any) error {
	return &RequestError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// validate returns a *RequestError for the first field of r that is wrong.
func (r *Request) validate() error {
	switch {
	case r.ID == "":
		return invalidRequest("ID", "no command ID")
	case r.Model == nil:
		return invalidRequest("Model", "no model")
	case r.Subject == "":
		return invalidRequest("Subject", "no subject")
	case r.Command == "":
		return invalidRequest("Command", "no command")
	case r.Actor == "":
		return invalidRequest("Actor", "no actor")
	}
	if err := r.Model.checkStep(r.Step); err != nil {
		return err
	}
	if len(r.Data) > 0 {
		// Sizes first, before anything is expanded: a record's payload, Data
		// included, is at most storage.MaxPayloadBytes in canonical form.
		if len(r.Data) > 4*storage.MaxPayloadBytes {
			return invalidRequest("Data", "%d bytes is over the limit of %d", len(r.Data), 4*storage.MaxPayloadBytes)
		}
		if d := bytes.TrimLeft(r.Data, " \t\r\n"); len(d) == 0 || d[0] != '{' {
			return invalidRequest("Data", "not a JSON object: %.40q", r.Data)
		}
		c, err := canonjson.AppendLimit(nil, r.Data, storage.MaxPayloadBytes)
		switch {
		case err != nil:
			return invalidRequest("Data", "%v", err)
		case len(c) > storage.MaxPayloadBytes:
			return invalidRequest("Data", "%d bytes in canonical form is over the limit of %d", len(c), storage.MaxPayloadBytes)
		}
		// The payload carries Data as it is: in canonical form, the
		// record is canonical by construction.
		r.Data = c
	}
	normalised := false
	for i, ev := range r.Evidence {
		switch {
		case ev.HasValue && !quantity.InBounds(ev.Value):
			return invalidRequest("Evidence", "evidence %d (%s): value is out of bounds (at most %d digits, exponent within ±%d)", i, ev.Name, quantity.MaxDigits, quantity.MaxExponent)
		case len(ev.Raw) > gate.MaxRawBytes:
			return invalidRequest("Evidence", "evidence %d (%s): the raw frame is %d bytes, over the limit of %d", i, ev.Name, len(ev.Raw), gate.MaxRawBytes)
		case !utf8.ValidString(ev.Raw):
			return invalidRequest("Evidence", "evidence %d (%s): the raw frame is not valid UTF-8; give a binary frame in hex (device.Reading.RawText)", i, ev.Name)
		case !ev.At.IsZero() && (ev.At.Year() < 1 || ev.At.Year() > 9999):
			return invalidRequest("Evidence", "evidence %d (%s): reading time %v is out of range", i, ev.Name, ev.At)
		}
		if !ev.At.IsZero() && (ev.At.Location() != time.UTC || ev.At.Round(0) != ev.At) {
			// The record holds the reading time in UTC, without the
			// monotonic reading, as its canonical form needs; the
			// caller's evidence is copied, not changed.
			if !normalised {
				r.Evidence, normalised = slices.Clone(r.Evidence), true
			}
			r.Evidence[i].At = ev.At.UTC().Round(0)
		}
	}
	if err := r.validateFlows(); err != nil {
		return err
	}
	return nil
}

// Execute runs the command: it folds the subject's state, evaluates every
// gate of the transition against facts read from their streams, and appends
// either the transition's events or one denied-attempt event carrying every
// failed gate's reason. The append asserts the version of every stream the
// gates read; if one moved, the command is evaluated again, up to
// Config.MaxRetries times.
//
// A denied command returns its Outcome and a *DeniedError (errors.Is
// ErrDenied); the denied attempt is on the record. An error matching
// storage.ErrOutcomeUnknown means the record may or may not have been
// written (the context ended or the connection broke while the store was
// appending): submit the same request again with the same ID, and the
// recorded outcome comes back, or the command runs once. Any other error
// means nothing was decided, and the command may be submitted again with
// the same ID; a request that differs from the one recorded under its ID is
// refused (ErrCommandReused).
func (e *Engine) Execute(ctx context.Context, req Request) (out *Outcome, err error) {
	ctx, span := e.obs.start(ctx, &req)
	defer func() { e.obs.finish(ctx, span, &req, out, err) }()
	if err := req.validate(); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		// The first attempt trusts the cached facts; after a conflict
		// every fact stream is read again.
		out, err := e.try(ctx, &req, attempt > 0)
		if attempt < e.maxRetries && e.retryable(&req, err, attempt) {
			e.obs.retried(ctx, &req, attempt+1, err)
			continue
		}
		if errors.Is(err, storage.ErrIdempotencyKeyReused) && attempt > 0 {
			// Read afresh, the subject holds no command under this id:
			// the store has it for another subject.
			return nil, &CommandReusedError{ID: req.ID, Subject: req.Subject, Field: "Subject"}
		}
		return out, err
	}
}

// retryable says whether a failed attempt should run again on fresh
// records: after a conflict on a stream the engine read or writes on its
// own, and after the first attempt's idempotency key clashed (another
// engine ran the command; the fresh read finds it and replays it). Every
// stream an append writes is one the engine chose and read itself.
func (e *Engine) retryable(req *Request, err error, attempt int) bool {
	if attempt == 0 && errors.Is(err, storage.ErrIdempotencyKeyReused) {
		return true
	}
	return errors.Is(err, storage.ErrConflict)
}

// try evaluates req once and records what it decided: decide reads and
// judges, sign collects the signatures an allowed transition needs (which
// may still deny it), and the record functions encode and append.
func (e *Engine) try(ctx context.Context, req *Request, fresh bool) (*Outcome, error) {
	recs, err := e.subjectRecords(ctx, req.Subject, fresh)
	if err != nil {
		return nil, err
	}
	if out, ok, err := replay(recs, req); ok || err != nil {
		return out, err
	}
	var a attempt
	if err := e.decide(ctx, &a, req, recs, fresh, nil); err != nil {
		return nil, err
	}
	buf := getBuf()
	defer putBuf(buf)
	a.buf = buf
	if *buf, err = appendEvidence(*buf, req.Evidence); err != nil {
		return nil, fmt.Errorf("mes: encode evidence: %w", err)
	}
	a.mark = len(*buf)
	if len(a.reasons) == 0 {
		if err := e.sign(ctx, &a, req); err != nil {
			return nil, err
		}
	}
	if len(a.reasons) > 0 {
		return e.recordDenied(ctx, &a, req)
	}
	return e.recordAllowed(ctx, &a, req)
}

func withoutWritten(reads []storage.StreamVersion, written []storage.StreamAppend) []storage.StreamVersion {
	out := reads[:0]
	for _, r := range reads {
		keep := true
		for _, w := range written {
			if w.Stream == r.Stream {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// evaluate runs every gate of the transition and the model's evidence
// requirements, and returns every failure.
//
// gateOnly reports whether every failure came from the transition's Gates,
// so that an override may apply.
//
// The gates judge at the engine's clock, or at at when it is not zero.
func (e *Engine) evaluate(ctx context.Context, req *Request, t *Transition, facts *streamFacts, at time.Time) (reasons []gate.Reason, gateOnly bool, err error) {
	if at.IsZero() {
		at = e.clock()
	}
	var roles []string
	if p, err := facts.Person(ctx, req.Actor); err == nil {
		roles = p.Roles
	} else if !errors.Is(err, gate.ErrUnknown) {
		return nil, false, fmt.Errorf("mes: look up actor %s: %w", req.Actor, err)
	}
	a := &gate.Attempt{
		Actor: req.Actor, Roles: roles, Subject: req.Subject, Refs: req.Refs, Evidence: req.Evidence, Data: req.Data,
		Transition: gate.Transition{From: t.From, To: t.To, Command: t.Command},
		Time:       at.UTC(),
	}
	if len(req.Consume) > 0 {
		a.Consume = make([]gate.Consumption, len(req.Consume))
		for i, c := range req.Consume {
			a.Consume[i] = gate.Consumption{Lot: c.Lot, Container: c.Container, Quantity: c.Quantity, Unit: c.Unit}
		}
	}
	for _, need := range t.Evidence {
		reasons = append(reasons, checkEvidence(a, need)...)
	}
	others := len(reasons)
	for _, g := range t.Gates {
		v, err := g.Check(ctx, a, facts)
		if err != nil {
			return nil, false, fmt.Errorf("mes: evaluate %s: %w", t.Command, err)
		}
		reasons = append(reasons, v.Reasons...)
	}
	n := len(reasons)
	// The lots a merge takes from become one quantity: their units must
	// be convertible into each other.
	var mergedUnit string
	for _, c := range req.Consume {
		if c.Kind != event.LinkMerged || c.Container != "" {
			continue
		}
		if mergedUnit == "" {
			mergedUnit = c.Unit
		} else if !quantity.Compatible(c.Unit, mergedUnit) {
			reasons = append(reasons, gate.Reason{Gate: "consumption", Code: CodeUnitMismatch,
				Message: fmt.Sprintf("%s %s of lot %s cannot be merged with quantities in %s", c.Quantity, c.Unit, c.Lot, mergedUnit)})
		}
	}
	for _, c := range req.Consume {
		check := checkConsumption
		if c.Container != "" {
			check = checkContainerMove
		}
		rs, err := check(ctx, a, facts, c)
		if err != nil {
			return nil, false, fmt.Errorf("mes: evaluate %s: %w", t.Command, err)
		}
		reasons = append(reasons, rs...)
	}
	if len(req.Produce) > 0 {
		rs, err := checkProductions(ctx, req, facts)
		if err != nil {
			return nil, false, fmt.Errorf("mes: evaluate %s: %w", t.Command, err)
		}
		reasons = append(reasons, rs...)
	}
	others += len(reasons) - n
	// One reason per failed rule: the consumption check runs the lot gate
	// the model may also run on the same lot, and says the same thing.
	for i := n; i < len(reasons); i++ {
		if slices.Contains(reasons[:i], reasons[i]) {
			reasons = slices.Delete(reasons, i, i+1)
			others--
			i--
		}
	}
	return reasons, others == 0, nil
}

// Codes of a container's move (Consumption.Container).
const (
	// CodeContainerUnknown: the container has no record: nothing was
	// packed into it.
	CodeContainerUnknown gate.Code = "container.unknown"
	// CodeContainerMoved: the container left already (shipped or
	// transferred by an earlier command).
	CodeContainerMoved gate.Code = "container.moved"
)

// checkContainerMove checks that a container exists and has not left
// already. Its stream is read through facts, so the append asserts it.
func checkContainerMove(ctx context.Context, a *gate.Attempt, facts gate.Facts, c event.Consumption) ([]gate.Reason, error) {
	rr, ok := facts.(RecordReader)
	if !ok {
		return nil, errors.New("mes: the facts cannot read a container's stream")
	}
	stream := event.ContainerStream(c.Container)
	recs, err := rr.Records(ctx, stream)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return []gate.Reason{{Gate: "consumption", Code: CodeContainerUnknown,
			Message: fmt.Sprintf("container %s has no record (%s): nothing was packed into it", c.Container, stream)}}, nil
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type != event.ContainerMoved {
			continue
		}
		var moved event.Consumed
		_ = json.Unmarshal(recs[i].Payload, &moved)
		return []gate.Reason{{Gate: "consumption", Code: CodeContainerMoved,
			Message: fmt.Sprintf("container %s already left, into %s (command %s)", c.Container, moved.Data.Into, moved.CommandID)}}, nil
	}
	return nil, nil
}

// checkConsumption checks that a lot may be used and holds the quantity:
// the lot-usable gate applies to every consumed lot, whatever the model says.
func checkConsumption(ctx context.Context, a *gate.Attempt, facts gate.Facts, c event.Consumption) ([]gate.Reason, error) {
	lotUsable, err := gate.LotUsable(gate.FromRef("consumed-lot"))
	if err != nil {
		return nil, err
	}
	attempt := *a
	attempt.Refs = map[string]string{"consumed-lot": c.Lot}
	v, err := lotUsable.Check(ctx, &attempt, facts)
	if err != nil {
		return nil, err
	}
	reasons := v.Reasons
	lot, err := facts.Lot(ctx, c.Lot)
	if err != nil {
		// Unknown lots were reported by lotUsable.
		if errors.Is(err, gate.ErrUnknown) {
			return reasons, nil
		}
		return nil, err
	}
	// Quantities are converted exactly between compatible units, never
	// compared raw.
	q, ok := quantity.Convert(c.Quantity, c.Unit, lot.Unit)
	switch {
	case !ok:
		reasons = append(reasons, gate.Reason{Gate: "consumption", Code: CodeUnitMismatch,
			Message: fmt.Sprintf("lot %s is kept in %s; %s %s cannot be taken from it", c.Lot, lot.Unit, c.Quantity, c.Unit)})
	case lot.Available.LessThan(q):
		reasons = append(reasons, gate.Reason{Gate: "consumption", Code: CodeOverConsumption,
			Message: fmt.Sprintf("lot %s holds %s %s; %s %s cannot be taken from it", c.Lot, lot.Available, lot.Unit, c.Quantity, c.Unit)})
	}
	return reasons, nil
}

// Codes of the engine's own checks.
const (
	// CodeIllegalTransition: the model does not permit the command in the
	// subject's state.
	CodeIllegalTransition gate.Code = "transition.illegal"
	// CodeEvidenceWrongSource: required evidence came from a source the
	// transition does not accept.
	CodeEvidenceWrongSource gate.Code = "evidence.wrong-source"
	CodeSignatureMissing    gate.Code = "signature.missing"
	CodeOverConsumption     gate.Code = "consumption.over-available"
	CodeUnitMismatch        gate.Code = "consumption.unit-mismatch"
)

// checkEvidence enforces an evidence requirement of the model.
func checkEvidence(a *gate.Attempt, need EvidenceRequirement) []gate.Reason {
	var found *gate.Evidence
	for i := range a.Evidence {
		if a.Evidence[i].Name == need.Name {
			found = &a.Evidence[i]
			break
		}
	}
	if found == nil {
		return []gate.Reason{{Gate: "model", Code: gate.CodeEvidenceMissing, Message: fmt.Sprintf("the transition needs evidence %q and none was given", need.Name)}}
	}
	if len(need.Sources) == 0 {
		return nil
	}
	for _, s := range need.Sources {
		if found.Source == s {
			return nil
		}
	}
	return []gate.Reason{{Gate: "model", Code: CodeEvidenceWrongSource, Message: fmt.Sprintf("evidence %q came from %s; the transition accepts only %v", need.Name, found.Source, need.Sources)}}
}

// CommandRecorded reports whether recs, a subject's records, hold the
// record of command id: the command ran before, and running it again
// replays its outcome.
func CommandRecorded(recs []audit.Record, id string) bool {
	_, ok, _ := replay(recs, &Request{ID: id})
	return ok
}

// RecordedTransition returns the payload recorded for command id among
// recs, a subject's records, or nil when the command has not run. A
// service that derives a command's Data from what it reads (a correction's
// old value, an audit review's digest) resubmits the recorded Data, so that
// its retry repeats the request and replays.
func RecordedTransition(recs []audit.Record, id string) *event.Transition {
	var arr [128]byte
	needle, ok := member(arr[:0], "command_id", id)
	if !ok {
		return nil
	}
	for i := range recs {
		if !bytes.Contains(recs[i].Payload, needle) {
			continue
		}
		var p event.Transition
		if json.Unmarshal(recs[i].Payload, &p) == nil && p.CommandID == id {
			return &p
		}
	}
	return nil
}

// ErrNoSigner: a transition needs signatures (or an override's approval)
// and the engine was built without Config.Signer. Nothing was recorded;
// it is the service's configuration, not the request, that is wrong.
var ErrNoSigner = errors.New("mes: the engine has no Signer (Config.Signer) to take signatures")

// ErrCommandReused is matched (errors.Is) by every *CommandReusedError.
var ErrCommandReused = interlock.NewInvalid("command id reused for another request")

// CommandReusedError says that a command id came back with a request that
// differs from the one first recorded under it: a retry must repeat its
// request exactly, so the second is refused, not answered with the first
// one's outcome. Nothing is recorded. It matches ErrCommandReused and
// interlock.ErrInvalid.
type CommandReusedError struct {
	ID, Subject string
	Field       string // the first field that differs, such as "Actor" or "Data"
}

func (e *CommandReusedError) Error() string {
	if e.Field == "Subject" {
		return fmt.Sprintf("mes: command %s was recorded on another subject than %s; a retry must repeat its request", e.ID, e.Subject)
	}
	return fmt.Sprintf("mes: command %s on %s was recorded with another %s; a retry must repeat its request", e.ID, e.Subject, e.Field)
}

// Unwrap makes errors.Is(err, ErrCommandReused) true.
func (e *CommandReusedError) Unwrap() error { return ErrCommandReused }

// differs names the first field in which req differs from the request
// recorded as r, whose payload is p, or returns "" when they agree.
func differs(r *audit.Record, p *event.Transition, req *Request) string {
	switch {
	case r.Actor != req.Actor:
		return "Actor"
	case p.Model != req.Model.Name() || p.ModelVersion != req.Model.Version():
		return "Model"
	case p.Step != req.Step:
		return "Step"
	case p.Command != req.Command:
		return "Command"
	case !maps.Equal(p.Refs, req.Refs):
		return "Refs"
	case !sameLocation(p.Location, req.Location):
		return "Location"
	case !slices.Equal(p.References, req.References):
		return "References"
	}
	if !sameJSON(p.Data, req.Data) {
		return "Data"
	}
	ev, err := appendEvidence(nil, req.Evidence)
	if err != nil || !sameJSON(r.Evidence, ev) {
		return "Evidence"
	}
	if (p.Override != nil) != (req.Override != nil) || (p.Override != nil && p.Override.Reason != req.Override.Reason) {
		// A denied override keeps no override in the payload; its
		// reasons say what was asked.
		if r.Type != event.Denied {
			return "Override"
		}
	}
	lots := len(req.Produce)
	for _, c := range req.Consume {
		if c.Container == "" {
			lots++
		}
	}
	if r.Type != event.Denied && len(p.Quantities) != lots {
		return "Consume"
	}
	return ""
}

// sameLocation reports whether a recorded location is the one a request
// gives, up to the read point the engine took from master data when the
// request gave none (ReadPointFrom).
func sameLocation(recorded, given *event.Location) bool {
	if given == nil {
		return recorded == nil || recorded.BizLocation == nil
	}
	if recorded == nil {
		return false
	}
	if given.ReadPoint == nil {
		r := *recorded
		r.ReadPoint = nil
		recorded = &r
	}
	return reflect.DeepEqual(recorded, given)
}

// sameJSON reports whether two JSON texts are the same value; empty and
// null are the same.
func sameJSON(a, b []byte) bool {
	norm := func(x []byte) []byte {
		if t := bytes.TrimSpace(x); len(t) == 0 || string(t) == "null" {
			return nil
		}
		c, err := canonjson.Canonicalize(x)
		if err != nil {
			return x
		}
		return c
	}
	return bytes.Equal(norm(a), norm(b))
}

// replay finds the command's own record in the subject's stream: the
// command ran before, so its outcome is returned and nothing is appended.
func replay(recs []audit.Record, req *Request) (*Outcome, bool, error) {
	var arr [128]byte
	needle, ok := member(arr[:0], "command_id", req.ID)
	if !ok {
		return nil, false, nil
	}
	for i := range recs {
		r := &recs[i]
		if !bytes.Contains(r.Payload, needle) {
			continue
		}
		var p event.Transition
		if err := json.Unmarshal(r.Payload, &p); err != nil || p.CommandID != req.ID {
			continue
		}
		if field := differs(r, &p, req); field != "" {
			return nil, true, &CommandReusedError{ID: req.ID, Subject: req.Subject, Field: field}
		}
		out := &Outcome{From: p.From, Replayed: true, Reasons: p.Reasons}
		j := i
		for j < len(recs) && bytes.Contains(recs[j].Payload, needle) {
			j++
		}
		out.Records = cloneRecords(recs[i:j])
		if r.Type == event.Denied {
			out.To = p.From
			return out, true, &DeniedError{Command: p.Command, Subject: req.Subject, State: p.From, Reasons: p.Reasons}
		}
		out.Allowed, out.To = true, p.To
		return out, true, nil
	}
	return nil, false, nil
}

// member returns the canonical JSON text of the member key: value, as it
// appears in a stored (canonical) payload, appended to dst. A value that is
// not valid UTF-8 cannot appear in one: ok is false.
func member(dst []byte, key, value string) (out []byte, ok bool) {
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	out, err := canonjson.AppendString(dst, value)
	return out, err == nil
}

// Codes of the context lock: a running step is bound to its batch, the
// operator who started it and the references (equipment, lot) it started
// with.
const (
	CodeContextOperator   gate.Code = "context.operator"
	CodeContextRef        gate.Code = "context.ref"
	CodeContextInstrument gate.Code = "context.instrument"
)

// boundContext is what a step was started with: the refs and actor of its
// first transition (Engine.fold finds it).
type boundContext struct {
	started  bool
	operator string
	refs     map[string]string
}

// check denies a transition of a started step that leaves its context: a
// different operator (unless the transition is a signed verification by
// someone else), a reference bound to another value, or evidence from an
// instrument the step is not bound to.
func (b boundContext) check(req *Request, t *Transition) []gate.Reason {
	if !b.started {
		return nil
	}
	var out []gate.Reason
	if req.Actor != b.operator && len(t.Signatures) == 0 {
		out = append(out, gate.Reason{Gate: "context", Code: CodeContextOperator,
			Message: fmt.Sprintf("step %s of %s is bound to %s, who started it; %s may not %s it", req.Step, req.Subject, b.operator, req.Actor, req.Command)})
	}
	for name, v := range req.Refs {
		if bv, ok := b.refs[name]; ok && bv != v {
			out = append(out, gate.Reason{Gate: "context", Code: CodeContextRef,
				Message: fmt.Sprintf("step %s of %s is bound to %s %s, not %s", req.Step, req.Subject, name, bv, v)})
		}
	}
	for _, ev := range req.Evidence {
		if ev.Instrument == "" || ev.Source == gate.SourceScanner {
			continue
		}
		found := false
		for _, v := range b.refs {
			if v == ev.Instrument {
				found = true
				break
			}
		}
		if !found {
			out = append(out, gate.Reason{Gate: "context", Code: CodeContextInstrument,
				Message: fmt.Sprintf("evidence %q came from %s, which step %s of %s is not bound to", ev.Name, ev.Instrument, req.Step, req.Subject)})
		}
	}
	return out
}
