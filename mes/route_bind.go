package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// The references a bound transition records (Request.Refs).
const (
	RefRoute       = "route"        // the route version's stream, RouteStream(product, version)
	RefRouteDigest = "route-digest" // the digest of its canonical content
)

// RouteBinding names the one route version a batch runs: recorded on the
// batch's start transition, it lets anyone re-read that version and check
// its digest (Routes.VerifyBinding). Make one with Routes.Bind.
type RouteBinding struct {
	Product string `json:"product"`
	Version int    `json:"version"`
	Digest  string `json:"digest"`
}

// Stream returns the bound version's stream.
func (b RouteBinding) Stream() string { return RouteStream(b.Product, b.Version) }

// Refs returns the references to record on the start transition: RefRoute
// and RefRouteDigest. Merge them into Request.Refs; gate RequireApprovedRoute reads
// RefRoute.
func (b RouteBinding) Refs() map[string]string {
	return map[string]string{RefRoute: b.Stream(), RefRouteDigest: b.Digest}
}

// Data returns {"route": {"product", "version", "digest"}}, for a start
// transition whose Data says nothing else. Routes.VerifyBinding reads the
// references, which Refs gives; Data is for readers of the record.
func (b RouteBinding) Data() json.RawMessage {
	raw, _ := json.Marshal(map[string]RouteBinding{"route": b}) // strings and an int always encode
	return raw
}

// ErrRouteNotApproved is matched (errors.Is) by every *RouteNotApprovedError.
var ErrRouteNotApproved = errors.New("route version not approved")

// RouteNotApprovedError says that a route version cannot be bound because it
// is a draft or retired, or, on verification, that a batch was bound to it
// before it was approved.
type RouteNotApprovedError struct {
	Product string
	Version int
	Status  State
}

func (e *RouteNotApprovedError) Error() string {
	return fmt.Sprintf("route %s v%d is %s; only an approved version can be bound", e.Product, e.Version, e.Status)
}

// Unwrap makes errors.Is(err, ErrRouteNotApproved) true.
func (e *RouteNotApprovedError) Unwrap() error { return ErrRouteNotApproved }

// Bind loads a route version, verified as Load does, and returns its
// binding for a batch's start. It returns a *RouteNotApprovedError when the
// version is not approved, and Load's errors otherwise. Guard the start
// transition with RequireApprovedRoute too: the version could be retired between
// Bind and the start, and the gate's read is asserted by the start's append.
func (rs *Routes) Bind(ctx context.Context, product string, version int) (RouteBinding, error) {
	v, err := rs.Load(ctx, product, version)
	if err != nil {
		return RouteBinding{}, err
	}
	if v.Status != RouteApproved {
		return RouteBinding{}, &RouteNotApprovedError{Product: product, Version: version, Status: v.Status}
	}
	return RouteBinding{Product: product, Version: version, Digest: v.Digest}, nil
}

// CodeRouteNotApproved is the code of RequireApprovedRoute's failures.
const CodeRouteNotApproved gate.Code = "route.not-approved"

// RequireApprovedRoute returns a gate that passes when the route version named by
// the attempt's reference ref (a RouteStream id, as RouteBinding.Refs
// records it under RefRoute) is approved: its last status event is
// event.RouteApproved. It reads the route stream's history, so the engine
// asserts that stream's version when it appends: a retirement landing in
// between makes the command run again. It fails with gate.CodeRefMissing or
// CodeRouteNotApproved. It returns an error when ref is empty.
func RequireApprovedRoute(ref string) (gate.Gate, error) {
	if ref == "" {
		return nil, errors.New("mes: RequireApprovedRoute: ref is empty")
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
		status := RouteNew
		for _, e := range history {
			switch e.Type {
			case event.RouteDrafted:
				status = RouteDraft
			case event.RouteApproved:
				status = RouteApproved
			case event.RouteRetired:
				status = RouteRetired
			}
		}
		if status == RouteApproved {
			return gate.Pass(), nil
		}
		return gate.Fail(gate.Reason{Code: CodeRouteNotApproved,
			Message: fmt.Sprintf("route %s is %s; only an approved version can be bound", stream, status)}), nil
	}))
}

// ErrNotBound is matched (errors.Is) when a batch's records bind no route.
var ErrNotBound = errors.New("no route binding")

// ErrRouteMismatch is matched (errors.Is) by every *RouteMismatchError.
var ErrRouteMismatch = errors.New("batch does not match its route")

// RouteMismatchError says that a batch's records name a route version whose
// content, as the route stream holds it now, is not what the batch recorded,
// or that two records of the batch name different versions.
type RouteMismatchError struct {
	Subject  string // the batch's stream
	Version  int64  // the batch record that disagrees
	Stream   string // the route stream it names
	Recorded string // the digest the batch recorded
	Found    string // the digest found: the route's, or an earlier record's
}

func (e *RouteMismatchError) Error() string {
	return fmt.Sprintf("%s v%d binds %s with digest %s, found %s", e.Subject, e.Version, e.Stream, e.Recorded, e.Found)
}

// Unwrap makes errors.Is(err, ErrRouteMismatch) true.
func (e *RouteMismatchError) Unwrap() error { return ErrRouteMismatch }

// VerifyBinding re-verifies what a batch executed, from the batch's records
// alone: it finds the route binding its transitions recorded (RefRoute and
// RefRouteDigest; denied attempts are ignored, and every binding record
// must agree), re-reads that route version, verifies its content as Load
// does, and checks that its digest is the one recorded and that the version
// was approved before the batch was bound to it. It returns the version.
//
// It returns an error matching ErrNotBound when no record binds a route, a
// *RouteMismatchError when records disagree or the digest differs, a
// *RouteNotApprovedError when the binding precedes the approval, and Load's
// errors.
func (rs *Routes) VerifyBinding(ctx context.Context, records []audit.Record) (*RouteVersion, error) {
	var bound *audit.Record
	var stream, digest string
	for i := range records {
		rec := &records[i]
		if rec.Type == event.Denied {
			continue
		}
		var p event.Transition
		if json.Unmarshal(rec.Payload, &p) != nil || p.Refs[RefRoute] == "" {
			continue
		}
		s, d := p.Refs[RefRoute], p.Refs[RefRouteDigest]
		if bound == nil {
			bound, stream, digest = rec, s, d
			continue
		}
		if s != stream || d != digest {
			return nil, &RouteMismatchError{Subject: rec.Stream, Version: rec.Version, Stream: s, Recorded: d,
				Found: digest + " (" + stream + " at v" + strconv.FormatInt(bound.Version, 10) + ")"}
		}
	}
	if bound == nil {
		return nil, fmt.Errorf("mes: verify binding: %w", ErrNotBound)
	}
	product, version, err := ParseRouteStream(stream)
	if err != nil {
		return nil, fmt.Errorf("mes: verify binding of %s v%d: %w", bound.Stream, bound.Version, err)
	}
	v, err := rs.Load(ctx, product, version)
	if err != nil {
		return nil, err
	}
	if v.Digest != digest {
		return nil, &RouteMismatchError{Subject: bound.Stream, Version: bound.Version, Stream: stream, Recorded: digest, Found: v.Digest}
	}
	if v.Approved.Position == 0 || v.Approved.Position > bound.Position {
		return nil, &RouteNotApprovedError{Product: product, Version: version, Status: RouteDraft}
	}
	return v, nil
}
