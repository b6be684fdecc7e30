package exception

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// Config configures Service. The zero value is valid.
type Config struct {
	// Model is the exception model. Default: Model([]string{"qa"}).
	// One's own must be built by Model, so that its states,
	// commands and event types are those Service writes and reads.
	Model *mes.Model
	// Batch runs the batch a consequence blocks, holds or resumes
	// (CmdBlock, CmdUnblock, CmdHold, CmdRestart). Default: BatchLifecycle().
	Batch *mes.Model
	// Step runs a step a consequence blocks or resumes, and Steps the steps
	// that run another model, by step id. Default: StepLifecycle().
	Step  *mes.Model
	Steps map[string]*mes.Model
	// Lot and Equipment run holds on lots and equipment. Defaults: LotModel()
	// and EquipmentModel().
	Lot       *mes.Model
	Equipment *mes.Model
	// Models, when set, gives the models left nil above, each the latest
	// version of its name in the registry: the exception model (ModelName),
	// "batch", "step", "lot" and "equipment", so that a service configured
	// with one registry passes it here. A name the registry lacks takes the
	// default.
	Models *mes.Registry
}

// Service opens, dispositions, approves and closes exceptions, and
// places and releases holds. Every write is a command run by the engine, so
// every one is gated and recorded, and every denied one is on the record.
//
// An exception lives in its own stream (event.ExceptionStream) run by the
// exception model, and is mirrored on its subject by the markers
// event.ExceptionOpened and event.ExceptionClosed, which gate.NoOpenException
// and the release readiness read. The model's opening and closing mirror
// themselves onto the subject (mes.Mirror, reference RefSubject), so the
// engine appends each marker atomically with the exception's transition,
// at the subject version it read; if the subject moved, the engine
// evaluates the command again.
//
// A consequence (block, hold) is a command of its own on the subject, run
// right after the exception's opening with a command id derived from the
// caller's ("<id>/block", "<id>/hold"): it is gated by the subject's model,
// and submitting the caller's command again after a failure in between
// completes it once. Until then the open exception blocks whatever reads
// its marker: gate.NoOpenException (on the standard batch lifecycle's
// verify and close) and the release readiness; and the marker says the
// consequence, so that gate.NoBlockingException (on the standard batch
// lifecycle's complete) stops the batch from completing while the block or
// hold is not yet recorded. The two are separate appends because the
// engine evaluates one transition per command, and both the opening (the
// exception model) and the consequence (the subject's model) must be
// evaluated by their own gates.
//
// Service is safe for concurrent use.
type Service struct {
	engine    *mes.Engine
	model     *mes.Model
	batch     *mes.Model
	step      *mes.Model
	steps     map[string]*mes.Model
	lot       *mes.Model
	equipment *mes.Model
}

// New returns Service that write through engine. cfg may be
// nil. It returns an error naming the field when a configured model does
// not have the shape Service needs.
func New(engine *mes.Engine, cfg *Config) (*Service, error) {
	if engine == nil {
		return nil, errors.New("exception: New: engine is nil")
	}
	if cfg == nil {
		cfg = &Config{}
	}
	x := &Service{engine: engine, model: cfg.Model, batch: cfg.Batch, step: cfg.Step, lot: cfg.Lot,
		equipment: cfg.Equipment, steps: map[string]*mes.Model{}}
	defaults := []struct {
		field string
		name  string
		m     **mes.Model
		build func() (*mes.Model, error)
	}{
		{"Model", ModelName, &x.model, func() (*mes.Model, error) { return Model([]string{"qa"}) }},
		{"Batch", "batch", &x.batch, func() (*mes.Model, error) { return lifecycle.Batch() }},
		{"Step", "step", &x.step, func() (*mes.Model, error) { return lifecycle.Step() }},
		{"Lot", "lot", &x.lot, func() (*mes.Model, error) { return mes.LotModel() }},
		{"Equipment", "equipment", &x.equipment, func() (*mes.Model, error) { return mes.EquipmentModel() }},
	}
	for _, d := range defaults {
		if *d.m != nil {
			continue
		}
		if cfg.Models != nil {
			if m, ok := cfg.Models.Latest(d.name); ok {
				*d.m = m
				continue
			}
		}
		m, err := d.build()
		if err != nil {
			return nil, fmt.Errorf("exception: New: default %s: %w", d.field, err)
		}
		*d.m = m
	}
	if err := checkExceptionModel(x.model); err != nil {
		return nil, fmt.Errorf("exception: New: Config.Model: %w", err)
	}
	for id, m := range cfg.Steps {
		if m == nil {
			return nil, fmt.Errorf("exception: New: Config.Steps[%q] is nil", id)
		}
		x.steps[id] = m
	}
	return x, nil
}

// checkExceptionModel makes sure a given model has the exception model's
// shape.
func checkExceptionModel(m *mes.Model) error {
	if m.Name() != ModelName || m.Version() != ModelVersion {
		return fmt.Errorf("model %s v%d is not %s v%d", m.Name(), m.Version(), ModelName, ModelVersion)
	}
	if m.Initial() != StateNew {
		return fmt.Errorf("initial state %q, want %q", m.Initial(), StateNew)
	}
	for _, want := range []struct {
		from mes.State
		cmd  mes.Command
		to   mes.State
		typ  string
	}{
		{StateNew, CmdOpen, StateOpen, event.ExceptionOpened},
		{StateOpen, CmdDisposition, StateDispositioned, event.ExceptionDispositioned},
		{StateDispositioned, CmdReject, StateOpen, event.ExceptionRejected},
		{StateDispositioned, CmdApprove, StateClosed, event.ExceptionApproved},
		{StateOpen, CmdAttachCAPA, StateOpen, event.ExceptionCAPA},
	} {
		t, err := m.Transition(want.from, want.cmd)
		if err != nil {
			return err
		}
		if t.To != want.to || len(t.Records) == 0 || t.Records[0] != want.typ {
			return fmt.Errorf("%s from %q must lead to %q recording %q", want.cmd, want.from, want.to, want.typ)
		}
	}
	for _, c := range []struct {
		from mes.State
		cmd  mes.Command
		typ  string
	}{{StateNew, CmdOpen, event.ExceptionOpened}, {StateDispositioned, CmdApprove, event.ExceptionClosed}} {
		t, _ := m.Transition(c.from, c.cmd)
		if t.Mirror == nil || t.Mirror.Ref != RefSubject || t.Mirror.Type != c.typ {
			return fmt.Errorf("%s must be mirrored onto reference %q as %q (mes.Mirror), so the subject shows it", c.cmd, RefSubject, c.typ)
		}
	}
	t, _ := m.Transition(StateDispositioned, CmdApprove)
	for _, s := range t.Signatures {
		if s.Meaning == mes.MeaningApproved && s.NotPerformer {
			return nil
		}
	}
	return fmt.Errorf("approve must need a signature meaning %q by someone who took no part (NotPerformer)", mes.MeaningApproved)
}

// Model returns the exception model Service runs.
func (x *Service) Model() *mes.Model { return x.model }

// Deviation is an exception to open: what went wrong, where, and what it
// does to its subject.
type Deviation struct {
	// ID names the exception; its stream is event.ExceptionStream(ID). Required.
	ID string
	// Kind, such as KindDeviation (the default) or KindHold.
	Kind string
	// Summary is one line a person understands. Required.
	Summary string
	// Subject is the stream the exception is open on, such as "batch-B42".
	// Required.
	Subject string
	// Step, when set, is the step of Subject concerned; a block blocks it.
	Step string
	// Source says what opened the exception. Default SourcePerson.
	Source Source
	// Consequence is what opening does to Subject. Default ConsequenceNone.
	Consequence Consequence
	// Cause names the record that gave rise to the exception, such as a
	// denied attempt. Optional.
	Cause *event.RecordRef
	// Evidence and Refs are the context, recorded with the opening.
	Evidence []gate.Evidence
	Refs     map[string]string
	// Details is more context, a JSON object. Optional.
	Details json.RawMessage
}

func (d *Deviation) normalize() error {
	if d.Kind == "" {
		d.Kind = KindDeviation
	}
	if d.Source == "" {
		d.Source = SourcePerson
	}
	if d.Consequence == "" {
		d.Consequence = ConsequenceNone
	}
	var problems []string
	if d.ID == "" {
		problems = append(problems, "the exception has no id")
	}
	if d.Summary == "" {
		problems = append(problems, "the summary is empty")
	}
	if d.Subject == "" {
		problems = append(problems, "the subject is empty")
	} else if strings.HasPrefix(d.Subject, "exception/") {
		problems = append(problems, fmt.Sprintf("the subject %q is an exception; exceptions are opened on what they concern", d.Subject))
	}
	if _, ok := d.Refs[RefSubject]; ok {
		problems = append(problems, fmt.Sprintf("reference %q is the engine's: it names the subject", RefSubject))
	}
	switch d.Source {
	case SourcePerson, SourceRule, SourceDevice:
	default:
		problems = append(problems, fmt.Sprintf("source %q is not person, rule or device", d.Source))
	}
	switch d.Consequence {
	case ConsequenceNone, ConsequenceBlock, ConsequenceHold:
	default:
		problems = append(problems, fmt.Sprintf("consequence %q is not none, block or hold", d.Consequence))
	}
	if len(d.Details) > 0 {
		if t := strings.TrimLeft(string(d.Details), " \t\r\n"); t == "" || t[0] != '{' || !canonjson.Valid(d.Details) {
			problems = append(problems, "the details are not a JSON object")
		}
	}
	if len(problems) > 0 {
		return &InputError{What: "deviation", Problems: problems}
	}
	return nil
}

// By names a command given to the Service: its id, which makes a retry
// safe (the same id has one effect and one record), and who gives it.
type By struct {
	CommandID string
	Actor     string
}

// Opened is what opening an exception did.
type Opened struct {
	// Exception is the opening: its records are the exception stream's
	// first and the marker on the subject.
	Exception *mes.Outcome
	// Consequence is the block or hold of the subject; nil when none was
	// applied, and then NotApplied says why.
	Consequence *mes.Outcome
	NotApplied  string
}

// Open opens the exception d by actor: the exception model's opening
// transition on event.ExceptionStream(d.ID), carrying d's context and evidence,
// with the marker on d.Subject in the same append; then d's consequence on
// the subject, when its model permits it in the subject's current state
// (otherwise Opened.NotApplied says why: a batch already held, or complete).
//
// It returns an error matching ErrInvalid for a malformed d, and
// then records nothing. When the opening is denied (the exception exists
// already) it returns the Outcome and the *DeniedError. When the exception
// opened and its consequence was denied, it returns the Opened and the
// consequence's *DeniedError: the exception stays open. Any other error
// means nothing was decided after the step that failed; submitting the same
// commandID again completes what is left, once.
func (x *Service) Open(ctx context.Context, by By, d Deviation) (*Opened, error) {
	commandID, actor := by.CommandID, by.Actor
	if err := d.normalize(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(exceptionOpenData{ID: d.ID, Kind: d.Kind, Summary: d.Summary, Subject: d.Subject, Step: d.Step,
		Source: d.Source, Consequence: d.Consequence, Cause: d.Cause, Details: d.Details})
	if err != nil {
		return nil, fmt.Errorf("exception: encode exception %s: %w", d.ID, err)
	}
	// The engine mirrors the opening, with this data, onto the subject
	// (RefSubject): the marker says the consequence, so that
	// gate.NoBlockingException stops the subject's work from the moment the
	// exception is open, before the block or hold that follows is recorded.
	refs := maps.Clone(d.Refs)
	if refs == nil {
		refs = map[string]string{}
	}
	refs[RefSubject] = d.Subject
	req := mes.Request{ID: commandID, Model: x.model, Subject: event.ExceptionStream(d.ID), Command: CmdOpen, Actor: actor,
		Refs: refs, Evidence: d.Evidence, Data: data}
	out, err := x.engine.Execute(ctx, req)
	if err != nil {
		if out != nil {
			return &Opened{Exception: out}, err
		}
		return nil, err
	}
	opened := &Opened{Exception: out}
	if d.Consequence == ConsequenceNone {
		return opened, nil
	}
	model, step, cmd := x.batch, "", mes.CmdHold
	if d.Consequence == ConsequenceBlock {
		cmd = mes.CmdBlock
		if d.Step != "" {
			model, step = x.stepModel(d.Step), d.Step
		}
	}
	cdata, err := json.Marshal(map[string]string{"exception": d.ID, "reason": d.Summary})
	if err != nil {
		return nil, fmt.Errorf("exception: encode %s of %s: %w", cmd, d.Subject, err)
	}
	opened.Consequence, opened.NotApplied, err = x.follow(ctx, mes.Request{ID: commandID + "/" + string(d.Consequence), Model: model,
		Subject: d.Subject, Step: step, Command: cmd, Actor: actor, Data: cdata})
	return opened, err
}

func (x *Service) stepModel(step string) *mes.Model {
	if m, ok := x.steps[step]; ok {
		return m
	}
	return x.step
}

// follow runs a command that follows an exception's transition on its
// subject, unless the subject's model does not permit it in the state the
// subject is in; then it returns why. A command recorded before is
// replayed whatever the state.
func (x *Service) follow(ctx context.Context, req mes.Request) (*mes.Outcome, string, error) {
	recs, err := x.engine.Records(ctx, req.Subject)
	if err != nil {
		return nil, "", fmt.Errorf("exception: load %s: %w", req.Subject, err)
	}
	if !mes.CommandRecorded(recs, req.ID) {
		state, err := mes.Fold(req.Model, req.Step, recs)
		if err != nil {
			return nil, "", err
		}
		if _, err := req.Model.Transition(state, req.Command); err != nil {
			return nil, fmt.Sprintf("%s is %q in %s v%d, which does not permit %s", req.Scope(), state,
				req.Model.Name(), req.Model.Version(), req.Command), nil
		}
	}
	out, err := x.engine.Execute(ctx, req)
	return out, "", err
}

// Disposition records the decision d on exception id by actor. It returns
// an error matching ErrInvalid for a malformed d (nothing is
// recorded), and otherwise what Engine.Execute returns: a denial when the
// exception is not open (no exception, one dispositioned already, or
// closed).
func (x *Service) Disposition(ctx context.Context, by By, id string, d Disposition) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	if err := d.validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("exception: encode disposition of %s: %w", id, err)
	}
	return x.engine.Execute(ctx, mes.Request{ID: commandID, Model: x.model, Subject: event.ExceptionStream(id), Command: CmdDisposition,
		Actor: actor, Data: data})
}

// Reject sends the pending disposition of exception id back, by actor, for
// reason: the exception is open again and needs another disposition. The
// default model denies it unless actor holds an approver role. It returns
// an error matching ErrInvalid when reason is empty.
func (x *Service) Reject(ctx context.Context, by By, id, reason string) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	if reason == "" {
		return nil, &InputError{What: "rejection", Problems: []string{"the reason is empty"}}
	}
	data, err := json.Marshal(map[string]string{"reason": reason})
	if err != nil {
		return nil, fmt.Errorf("exception: encode rejection of %s: %w", id, err)
	}
	return x.engine.Execute(ctx, mes.Request{ID: commandID, Model: x.model, Subject: event.ExceptionStream(id), Command: CmdReject,
		Actor: actor, Data: data})
}

// AttachCAPA attaches the reference of a CAPA record to exception id, by
// actor, open or closed. It returns an error matching ErrInvalid
// when capa is empty.
func (x *Service) AttachCAPA(ctx context.Context, by By, id, capa string) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	if capa == "" {
		return nil, &InputError{What: "CAPA reference", Problems: []string{"the reference is empty"}}
	}
	data, err := json.Marshal(map[string]string{"capa": capa})
	if err != nil {
		return nil, fmt.Errorf("exception: encode CAPA of %s: %w", id, err)
	}
	return x.engine.Execute(ctx, mes.Request{ID: commandID, Model: x.model, Subject: event.ExceptionStream(id), Command: CmdAttachCAPA,
		Actor: actor, Data: data})
}

// Approve approves the disposition of exception id, which closes it: the
// approval needs sign, the signature (meaning "approved"; the Meaning given
// is ignored) of a person holding an approver role who took no part in the
// exception. The engine denies and records a self-approval
// (CodeSignatureSelf), an approval of an exception that is not
// dispositioned (ErrIllegalTransition) and an investigation without a CAPA
// reference (CodeCAPAMissing). The closing marker is appended to the
// subject with the approval. Closing does not resume a blocked subject: a
// person does, with Resume.
//
// It returns an error matching ErrNotFound when the exception
// was never opened, and then records nothing; otherwise what
// Engine.Execute returns.
func (x *Service) Approve(ctx context.Context, by By, id string, sign mes.Sign) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	exc, err := x.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(map[string]string{"id": id})
	if err != nil {
		return nil, fmt.Errorf("exception: encode approval of %s: %w", id, err)
	}
	sign.Meaning = mes.MeaningApproved
	// The engine mirrors the closing, {"id"}, onto the subject.
	req := mes.Request{ID: commandID, Model: x.model, Subject: event.ExceptionStream(id), Command: CmdApprove, Actor: actor,
		Refs: map[string]string{RefSubject: exc.Subject}, Data: data, Signatures: []mes.Sign{sign}}
	return x.engine.Execute(ctx, req)
}

// ErrNotResumable is matched (errors.Is) by every *NotResumableError.
var ErrNotResumable = errors.New("not resumable")

// NotResumableError says why Resume did not unblock a subject; nothing
// was recorded.
type NotResumableError struct {
	Exception string
	Scope     string // the subject, or the step of it
	Reason    string
}

func (e *NotResumableError) Error() string {
	return fmt.Sprintf("exception: %s cannot resume after exception %s: %s", e.Scope, e.Exception, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNotResumable) true.
func (e *NotResumableError) Unwrap() error { return ErrNotResumable }

// Resume unblocks, by actor, the subject or step that exception id
// blocked (ConsequenceBlock), once the exception is closed and no other
// exception is open on the subject: the unblock command of the subject's
// model, gated by it (a blocked step resumes by its operator: the step's
// context lock denies anyone else). It returns a *NotResumableError
// (errors.Is ErrNotResumable), recording nothing, when the exception did
// not block, is not closed, others are open, or the model does not permit
// unblocking in the current state; ErrNotFound when it was never
// opened; otherwise what Engine.Execute returns.
func (x *Service) Resume(ctx context.Context, by By, id string) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	exc, err := x.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	req := mes.Request{ID: commandID, Model: x.batch, Subject: exc.Subject, Command: mes.CmdUnblock, Actor: actor}
	if exc.Step != "" {
		req.Model, req.Step = x.stepModel(exc.Step), exc.Step
	}
	refuse := func(format string, args ...any) (*mes.Outcome, error) {
		return nil, &NotResumableError{Exception: id, Scope: req.Scope(), Reason: fmt.Sprintf(format, args...)}
	}
	recs, err := x.engine.Records(ctx, exc.Subject)
	if err != nil {
		return nil, fmt.Errorf("exception: load %s: %w", exc.Subject, err)
	}
	if !mes.CommandRecorded(recs, req.ID) {
		switch {
		case exc.Consequence != ConsequenceBlock:
			return refuse("the exception did not block it (consequence %q)", exc.Consequence)
		case exc.State != StateClosed:
			return refuse("the exception is %q, not closed", exc.State)
		}
		open, err := x.engine.Facts(exc.Subject, recs).OpenExceptions(ctx, exc.Subject)
		if err != nil {
			return nil, fmt.Errorf("exception: open exceptions of %s: %w", exc.Subject, err)
		}
		if len(open) > 0 {
			ids := make([]string, len(open))
			for i, o := range open {
				ids[i] = o.ID
			}
			return refuse("exceptions %v are open on %s", ids, exc.Subject)
		}
		state, err := mes.Fold(req.Model, req.Step, recs)
		if err != nil {
			return nil, err
		}
		if _, err := req.Model.Transition(state, mes.CmdUnblock); err != nil {
			return refuse("it is %q in %s v%d, which does not permit %s", state, req.Model.Name(), req.Model.Version(), mes.CmdUnblock)
		}
	}
	data, err := json.Marshal(map[string]string{"exception": id})
	if err != nil {
		return nil, fmt.Errorf("exception: encode unblock of %s: %w", exc.Subject, err)
	}
	req.Data = data
	return x.engine.Execute(ctx, req)
}

// Get returns exception id as its stream tells it. It returns an error
// matching ErrNotFound when the exception was never opened.
func (x *Service) Get(ctx context.Context, id string) (*Exception, error) {
	recs, err := x.engine.Records(ctx, event.ExceptionStream(id))
	if err != nil {
		return nil, fmt.Errorf("exception: load %s: %w", event.ExceptionStream(id), err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("exception: exception %q: %w", id, ErrNotFound)
	}
	return Read(recs)
}
