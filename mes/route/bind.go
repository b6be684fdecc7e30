package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// The references a bound transition records (Request.Refs).
const (
	Ref       = "route"        // the route version's stream, Stream(product, version)
	RefDigest = "route-digest" // the digest of its canonical content
)

// Binding names the one route version a batch runs: recorded on the
// batch's start transition, it lets anyone re-read that version and check
// its digest (Registry.VerifyBinding). Make one with Registry.Bind.
type Binding struct {
	Product string `json:"product"`
	Version int    `json:"version"`
	Digest  string `json:"digest"`
}

// Stream returns the bound version's stream.
func (b Binding) Stream() string { return Stream(b.Product, b.Version) }

// Refs returns the references to record on the start transition: Ref
// and RefDigest. Merge them into Request.Refs; gate RequireApproved reads
// Ref.
func (b Binding) Refs() map[string]string {
	return map[string]string{Ref: b.Stream(), RefDigest: b.Digest}
}

// Data returns {"route": {"product", "version", "digest"}}, for a start
// transition whose Data says nothing else. Registry.VerifyBinding reads the
// references, which Refs gives; Data is for readers of the record.
func (b Binding) Data() json.RawMessage {
	raw, _ := json.Marshal(map[string]Binding{"route": b}) // strings and an int always encode
	return raw
}

// ErrNotApproved is matched (errors.Is) by every *NotApprovedError.
var ErrNotApproved = errors.New("route version not approved")

// NotApprovedError says that a route version cannot be bound because it
// is a draft or retired, or, on verification, that a batch was bound to it
// before it was approved.
type NotApprovedError struct {
	Product string
	Version int
	Status  mes.State
}

func (e *NotApprovedError) Error() string {
	return fmt.Sprintf("route %s v%d is %s; only an approved version can be bound", e.Product, e.Version, e.Status)
}

// Unwrap makes errors.Is(err, ErrNotApproved) true.
func (e *NotApprovedError) Unwrap() error { return ErrNotApproved }

// Bind loads a route version, verified as Load does, and returns its
// binding for a batch's start. It returns a *NotApprovedError when the
// version is not approved, and Load's errors otherwise. Guard the start
// transition with RequireApproved too: the version could be retired between
// Bind and the start, and the gate's read is asserted by the start's append.
func (rs *Registry) Bind(ctx context.Context, product string, version int) (Binding, error) {
	v, err := rs.Load(ctx, product, version)
	if err != nil {
		return Binding{}, err
	}
	if v.Status != Approved {
		return Binding{}, &NotApprovedError{Product: product, Version: version, Status: v.Status}
	}
	return Binding{Product: product, Version: version, Digest: v.Digest}, nil
}

// CodeNotApproved is the code of RequireApproved's failures.
const CodeNotApproved gate.Code = "route.not-approved"

// RequireApproved returns a gate that passes when the route version named by
// the attempt's reference ref (a Stream id, as Binding.Refs
// records it under Ref) is approved: its last status event is
// event.RouteApproved. It reads the route stream's history, so the engine
// asserts that stream's version when it appends: a retirement landing in
// between makes the command run again. It fails with gate.CodeRefMissing or
// CodeNotApproved. It returns an error when ref is empty.
func RequireApproved(ref string) (gate.Gate, error) {
	if ref == "" {
		return nil, errors.New("route: RequireApproved: ref is empty")
	}
	return gate.Named("route-approved", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		if f == nil {
			return gate.Verdict{}, gate.ErrNilFacts
		}
		stream := a.Refs[ref]
		if stream == "" {
			return gate.Fail(gate.Reason{Code: gate.CodeRefMissing,
				Message: fmt.Sprintf("the attempt has no reference %q naming the route version", ref)}), nil
		}
		history, err := f.History(ctx, stream)
		if err != nil && !errors.Is(err, gate.ErrUnknown) {
			return gate.Verdict{}, fmt.Errorf("history of %s: %w", stream, err)
		}
		status := Initial
		for _, e := range history {
			switch e.Type {
			case event.RouteDrafted:
				status = Draft
			case event.RouteApproved:
				status = Approved
			case event.RouteRetired:
				status = Retired
			}
		}
		if status == Approved {
			return gate.Pass(), nil
		}
		return gate.Fail(gate.Reason{Code: CodeNotApproved,
			Message: fmt.Sprintf("route %s is %s; only an approved version can be bound", stream, status)}), nil
	}))
}

// ErrNotBound is matched (errors.Is) when a batch's records bind no route.
var ErrNotBound = errors.New("no route binding")

// ErrMismatch is matched (errors.Is) by every *MismatchError.
var ErrMismatch = errors.New("batch does not match its route")

// MismatchError says that a batch's records name a route version whose
// content, as the route stream holds it now, is not what the batch recorded,
// or that two records of the batch name different versions.
type MismatchError struct {
	Subject  string // the batch's stream
	Version  int64  // the batch record that disagrees
	Stream   string // the route stream it names
	Recorded string // the digest the batch recorded
	Found    string // the digest found: the route's, or an earlier record's
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s v%d binds %s with digest %s, found %s", e.Subject, e.Version, e.Stream, e.Recorded, e.Found)
}

// Unwrap makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// VerifyBinding re-verifies what a batch executed, from the batch's records
// alone: it finds the route binding its transitions recorded (Ref and
// RefDigest; denied attempts are ignored, and every binding record
// must agree), re-reads that route version, verifies its content as Load
// does, and checks that its digest is the one recorded and that the version
// was approved before the batch was bound to it. It returns the version.
//
// It returns an error matching ErrNotBound when no record binds a route, a
// *MismatchError when records disagree or the digest differs, a
// *NotApprovedError when the binding precedes the approval, and Load's
// errors.
func (rs *Registry) VerifyBinding(ctx context.Context, records []audit.Record) (*Version, error) {
	var bound *audit.Record
	var stream, digest string
	for i := range records {
		rec := &records[i]
		if rec.Type == event.Denied {
			continue
		}
		var p event.Transition
		if json.Unmarshal(rec.Payload, &p) != nil || p.Refs[Ref] == "" {
			continue
		}
		s, d := p.Refs[Ref], p.Refs[RefDigest]
		if bound == nil {
			bound, stream, digest = rec, s, d
			continue
		}
		if s != stream || d != digest {
			return nil, &MismatchError{Subject: rec.Stream, Version: rec.Version, Stream: s, Recorded: d,
				Found: digest + " (" + stream + " at v" + strconv.FormatInt(bound.Version, 10) + ")"}
		}
	}
	if bound == nil {
		return nil, fmt.Errorf("route: verify binding: %w", ErrNotBound)
	}
	product, version, err := ParseStream(stream)
	if err != nil {
		return nil, fmt.Errorf("route: verify binding of %s v%d: %w", bound.Stream, bound.Version, err)
	}
	v, err := rs.Load(ctx, product, version)
	if err != nil {
		return nil, err
	}
	if v.Digest != digest {
		return nil, &MismatchError{Subject: bound.Stream, Version: bound.Version, Stream: stream, Recorded: digest, Found: v.Digest}
	}
	if v.Approved.Position == 0 || v.Approved.Position > bound.Position {
		return nil, &NotApprovedError{Product: product, Version: version, Status: Draft}
	}
	return v, nil
}
