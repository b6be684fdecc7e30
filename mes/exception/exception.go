package exception

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// The exception model: its name and version, its first states and its
// opening command. The engine writes the same names itself when a gate
// override opens a deviation.
const (
	ModelName              = "exception"
	ModelVersion           = 1
	StateNew     mes.State = "new"
	StateOpen    mes.State = "open"
	// CmdOpen opens an exception.
	CmdOpen mes.Command = "open"
	// KindDeviation is the kind of a deviation; a gate override opens one.
	KindDeviation = "deviation"
	// RefSubject is the reference of the exception model's opening and
	// closing that names the subject the exception concerns: the engine
	// mirrors both onto it (mes.Mirror). A Deviation's Refs may not use it.
	RefSubject = "subject"
)

// The states of an exception after it opens (StateNew and StateOpen
// are declared with overrides, which open exceptions too). An exception
// closes only once it is dispositioned and that disposition is approved.
const (
	StateDispositioned mes.State = "dispositioned"
	StateClosed        mes.State = "closed"
)

// The commands of the exception model beside CmdOpen.
const (
	CmdDisposition mes.Command = "disposition"
	CmdApprove     mes.Command = "approve"
	CmdReject      mes.Command = "reject-disposition"
	CmdAttachCAPA  mes.Command = "attach-capa"
)

// The event types of an exception's own stream (ExceptionStream). Each is
// the own event of a transition of the exception model; its Data is noted.
// The opened event's Data is the exception's context, exceptionOpenData
// (written by overrides too); the others:
const ()

// Kinds of exception. KindDeviation is declared with overrides.
const (
	KindHold = "hold"
)

// Source says what opened an exception.
type Source string

// The sources of exceptions. The engine's gate overrides record "override".
const (
	SourcePerson   Source = "person"   // a person saw something wrong
	SourceRule     Source = "rule"     // a rule turned a denied attempt or a check into it
	SourceDevice   Source = "device"   // a device event (alarm, fault)
	SourceOverride Source = "override" // a gate override (written by the engine)
)

// Consequence is what opening an exception does to its subject.
type Consequence string

// The consequences. Whatever the consequence, the open exception is on the
// subject's record, where gate.NoOpenException and the release readiness
// read it.
const (
	// ConsequenceNone changes no state.
	ConsequenceNone Consequence = "none"
	// ConsequenceBlock blocks the step (when the exception names one) or
	// the batch (CmdBlock); once the exception is closed and no other is
	// open on the subject, a person resumes it (Service.Resume).
	ConsequenceBlock Consequence = "block"
	// ConsequenceHold holds the batch (CmdHold); a person releases the hold
	// (Service.ReleaseHold), closing the exception does not.
	ConsequenceHold Consequence = "hold"
)

// DispositionKind is the decision taken on an exception.
type DispositionKind string

// The dispositions.
const (
	DispositionRedo        DispositionKind = "redo"        // do the step again
	DispositionRework      DispositionKind = "rework"      // rework the material by an approved procedure
	DispositionScrap       DispositionKind = "scrap"       // destroy the material or the batch
	DispositionSubstitute  DispositionKind = "substitute"  // use another lot or material
	DispositionUseAsIs     DispositionKind = "use-as-is"   // accept the deviation without action
	DispositionInvestigate DispositionKind = "investigate" // investigate; needs a CAPA reference before approval
)

var dispositionKinds = []DispositionKind{DispositionRedo, DispositionRework, DispositionScrap,
	DispositionSubstitute, DispositionUseAsIs, DispositionInvestigate}

// Disposition is the decision on an exception, recorded as the Data of
// event.ExceptionDispositioned.
type Disposition struct {
	Decision   DispositionKind `json:"decision"`
	Rationale  string          `json:"rationale"`            // why; required
	CAPA       string          `json:"capa,omitempty"`       // a CAPA record's reference, such as "CAPA-2026-017"
	Substitute string          `json:"substitute,omitempty"` // the lot or material used instead, for DispositionSubstitute
}

func (d Disposition) validate() error {
	var problems []string
	if !slices.Contains(dispositionKinds, d.Decision) {
		problems = append(problems, fmt.Sprintf("decision %q is not one of %v", d.Decision, dispositionKinds))
	}
	if d.Rationale == "" {
		problems = append(problems, "the rationale is empty")
	}
	if d.Decision == DispositionSubstitute && d.Substitute == "" {
		problems = append(problems, "a substitution names no substitute")
	}
	if d.Decision != DispositionSubstitute && d.Substitute != "" {
		problems = append(problems, fmt.Sprintf("a %s disposition names a substitute", d.Decision))
	}
	if len(problems) > 0 {
		return &InputError{What: "disposition", Problems: problems}
	}
	return nil
}

// exceptionOpenData is the Data of the exception model's opening
// transition: the exception's context. Overrides write the same fields
// (without consequence, cause and details) and "from".
type exceptionOpenData struct {
	ID          string           `json:"id"`
	Kind        string           `json:"kind"`
	Summary     string           `json:"summary"`
	Subject     string           `json:"subject"`
	Step        string           `json:"step,omitempty"`
	Source      Source           `json:"source"`
	Consequence Consequence      `json:"consequence,omitempty"`
	Cause       *event.RecordRef `json:"cause,omitempty"`
	Details     json.RawMessage  `json:"details,omitempty"`
}

// ErrInvalid is matched (errors.Is) by every *InputError.
var ErrInvalid = fmt.Errorf("invalid exception input: %w", interlock.ErrInvalid)

// InputError lists what is wrong with an exception command's
// input; nothing was recorded.
type InputError struct {
	What     string // "deviation", "disposition", "hold", "rule" …
	Problems []string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("exception: invalid %s: %v", e.What, e.Problems)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InputError) Unwrap() error { return ErrInvalid }

// ErrNotFound is matched (errors.Is) when an exception's stream
// holds no opening record.
var ErrNotFound = errors.New("exception not found")

// CodeCAPAMissing: an investigation is approved without a CAPA reference.
const CodeCAPAMissing gate.Code = "exception.capa-missing"

// Model returns the exception model, named ModelName at
// ModelVersion:
//
//	new --open--> open --disposition--> dispositioned --approve--> closed
//	                   <--reject-disposition--
//
// and attach-capa in open, dispositioned and closed. Approving needs one
// signature meaning "approved" by a person holding one of approverRoles who
// took no part in the exception (opened it, dispositioned it, rejected a
// disposition, attached a CAPA reference): the engine denies and records
// self-approval. An
// investigation is approved only once a CAPA reference is attached (with
// the disposition or after it). Rejecting a disposition needs one of
// approverRoles. opts add to every transition.
func Model(approverRoles []string, opts ...mes.Option) (*mes.Model, error) {
	if len(approverRoles) == 0 {
		return nil, errors.New("exception: Model: no role may approve dispositions; name at least one")
	}
	role, err := gate.RequireRole(approverRoles...)
	if err != nil {
		return nil, fmt.Errorf("exception: Model: %w", err)
	}
	capa, err := gate.Named("capa-for-investigation", gate.Func(capaForInvestigation))
	if err != nil {
		return nil, fmt.Errorf("exception: Model: %w", err)
	}
	with := mes.Prepend(opts)
	return mes.NewModel(ModelName, ModelVersion).
		States(StateNew, StateOpen, StateDispositioned, StateClosed).
		Initial(StateNew).
		Permit(StateNew, CmdOpen, StateOpen, with(mes.Recording(event.ExceptionOpened), mes.Mirror(RefSubject, event.ExceptionOpened))...).
		Permit(StateOpen, CmdDisposition, StateDispositioned, with(mes.Recording(event.ExceptionDispositioned))...).
		Permit(StateDispositioned, CmdReject, StateOpen, with(mes.Recording(event.ExceptionRejected), mes.WithGates(role))...).
		Permit(StateDispositioned, CmdApprove, StateClosed, with(mes.Recording(event.ExceptionApproved), mes.Mirror(RefSubject, event.ExceptionClosed), mes.WithGates(capa),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: mes.MeaningApproved, Count: 1, Roles: approverRoles, NotPerformer: true}))...).
		Permit(StateOpen, CmdAttachCAPA, StateOpen, with(mes.Recording(event.ExceptionCAPA))...).
		Permit(StateDispositioned, CmdAttachCAPA, StateDispositioned, with(mes.Recording(event.ExceptionCAPA))...).
		Permit(StateClosed, CmdAttachCAPA, StateClosed, with(mes.Recording(event.ExceptionCAPA))...).
		Build()
}

// capaForInvestigation fails the approval of an investigation that has no
// CAPA reference. It reads the exception's own stream, the subject.
func capaForInvestigation(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	l, ok := f.(mes.RecordReader)
	if !ok {
		return gate.Verdict{}, fmt.Errorf("exception: the CAPA check reads the exception's records, which %T does not give", f)
	}
	recs, err := l.Records(ctx, a.Subject)
	if err != nil {
		return gate.Verdict{}, err
	}
	x, err := Read(recs)
	if err != nil {
		return gate.Verdict{}, err
	}
	if x.Disposition != nil && x.Disposition.Decision == DispositionInvestigate && len(x.CAPA) == 0 {
		return gate.Fail(gate.Reason{Code: CodeCAPAMissing,
			Message: fmt.Sprintf("exception %s is dispositioned for investigation and has no CAPA reference; attach one before approval", x.ID)}), nil
	}
	return gate.Pass(), nil
}

// Exception is an exception as its stream tells it.
type Exception struct {
	ID          string
	Kind        string
	Summary     string
	Subject     string // the stream it is open on, such as "batch-B42"
	Step        string // "" when it concerns the whole subject
	Source      Source
	Consequence Consequence // "" for exceptions opened by an override
	Cause       *event.RecordRef
	State       mes.State
	OpenedBy    string
	Opened      time.Time
	// Disposition is the current one: nil while none is pending or after
	// one was rejected.
	Disposition     *Disposition
	DispositionedBy string
	// Rejected counts rejected dispositions.
	Rejected int
	// CAPA lists the CAPA references attached, in order, without repeats.
	CAPA []string
	// ApprovedBy is the signer of the approval and Approved its time;
	// empty while the exception is not closed.
	ApprovedBy string
	Approved   time.Time
}

// Read folds the records of an exception's stream, from version 1,
// into an Exception. It returns an error matching ErrNotFound
// when the stream has no opening record, and an error naming the record
// for a payload it cannot decode. Denied attempts are skipped.
func Read(recs []audit.Record) (*Exception, error) {
	var x *Exception
	var approvedAt int64 // the version of the approval, which its signature signs
	for i := range recs {
		r := &recs[i]
		switch r.Type {
		case event.Denied:
			continue
		case event.SignatureApplied:
			if approvedAt == 0 {
				continue
			}
			var p event.Signature
			if err := json.Unmarshal(r.Payload, &p); err != nil {
				return nil, fmt.Errorf("exception: %s v%d: %w", r.Stream, r.Version, err)
			}
			if p.Signs == approvedAt && p.Signature != nil && mes.Meaning(p.Signature.Manifestation.Meaning) == mes.MeaningApproved {
				x.ApprovedBy, x.Approved = p.Signature.Manifestation.SignerID, p.Signature.Manifestation.Time
			}
			continue
		case event.ExceptionOpened, event.ExceptionDispositioned, event.ExceptionRejected, event.ExceptionApproved, event.ExceptionCAPA:
		default:
			continue
		}
		var p struct {
			Model string          `json:"model"`
			To    mes.State       `json:"to"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, fmt.Errorf("exception: %s v%d: %w", r.Stream, r.Version, err)
		}
		if p.Model != ModelName {
			continue
		}
		if r.Type == event.ExceptionOpened {
			if x != nil {
				return nil, fmt.Errorf("exception: %s v%d opens the exception again", r.Stream, r.Version)
			}
			var d exceptionOpenData
			if err := decodeData(r, p.Data, &d); err != nil {
				return nil, err
			}
			x = &Exception{ID: d.ID, Kind: d.Kind, Summary: d.Summary, Subject: d.Subject, Step: d.Step, Source: d.Source,
				Consequence: d.Consequence, Cause: d.Cause, State: p.To, OpenedBy: r.Actor, Opened: r.Time}
			continue
		}
		if x == nil {
			return nil, fmt.Errorf("exception: %s v%d (%s) comes before the exception is opened", r.Stream, r.Version, r.Type)
		}
		x.State = p.To
		switch r.Type {
		case event.ExceptionDispositioned:
			var d Disposition
			if err := decodeData(r, p.Data, &d); err != nil {
				return nil, err
			}
			x.Disposition, x.DispositionedBy = &d, r.Actor
			x.addCAPA(d.CAPA)
		case event.ExceptionRejected:
			x.Disposition, x.DispositionedBy = nil, ""
			x.Rejected++
		case event.ExceptionApproved:
			approvedAt = r.Version
		case event.ExceptionCAPA:
			var d struct {
				CAPA string `json:"capa"`
			}
			if err := decodeData(r, p.Data, &d); err != nil {
				return nil, err
			}
			x.addCAPA(d.CAPA)
		}
	}
	if x == nil {
		stream := "the stream"
		if len(recs) > 0 {
			stream = recs[0].Stream
		}
		return nil, fmt.Errorf("exception: %s: %w", stream, ErrNotFound)
	}
	return x, nil
}

func (x *Exception) addCAPA(ref string) {
	if ref != "" && !slices.Contains(x.CAPA, ref) {
		x.CAPA = append(x.CAPA, ref)
	}
}

// decodeData decodes a transition's Data into v; absent Data leaves v as
// it is.
func decodeData(r *audit.Record, data json.RawMessage, v any) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("exception: %s v%d (%s) data: %w", r.Stream, r.Version, r.Type, err)
	}
	return nil
}

// DispositionKinds returns every disposition, in a fixed order.
func DispositionKinds() []DispositionKind { return slices.Clone(dispositionKinds) }
