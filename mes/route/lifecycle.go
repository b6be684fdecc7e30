package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// The states of a route version. Only an approved version can be bound to a
// batch.
const (
	Initial  mes.State = "new" // nothing drafted in the stream yet
	Draft    mes.State = "draft"
	Approved mes.State = "approved"
	Retired  mes.State = "retired"
)

// The commands of the route lifecycle.
const (
	CmdDraft   mes.Command = "draft"
	CmdApprove mes.Command = "approve"
	CmdRetire  mes.Command = "retire"
)

// The event types of a route stream. The drafted event's Data is the
// routeDraft JSON: {"route": canonical content, "digest": its digest}; the
// others carry no data.
const ()

// ModelName is the name of the model Lifecycle builds.
const ModelName = "route"

// Stream returns the stream of one route version:
// "route/<product>/v<version>". Every version is its own stream, so
// drafting, approving or retiring one version never touches another.
func Stream(product string, version int) string {
	return "route/" + product + "/v" + strconv.Itoa(version)
}

// ParseStream splits a stream id made by Stream. It returns an
// error for anything else.
func ParseStream(stream string) (product string, version int, err error) {
	rest, ok := strings.CutPrefix(stream, "route/")
	i := strings.LastIndex(rest, "/v")
	if !ok || i <= 0 || strings.Contains(rest[:i], "/") {
		return "", 0, fmt.Errorf("stream %q is not a route stream (route/<product>/v<version>)", stream)
	}
	digits := rest[i+2:]
	v, err := strconv.Atoi(digits)
	if err != nil || v < 1 || strconv.Itoa(v) != digits {
		return "", 0, fmt.Errorf("stream %q: version %q is not a whole number from 1", stream, digits)
	}
	return rest[:i], v, nil
}

// Lifecycle returns the route version model: a version is drafted with
// its content, approved, and retired (a draft may be retired unapproved).
// Approving and retiring need one of approverRoles; approving also needs a
// person other than the one who drafted it (gate.DistinctActor on
// event.RouteDrafted), so nobody approves their own route. opts add to
// every transition, such as a role gate on drafting.
func Lifecycle(approverRoles []string, opts ...mes.Option) (*mes.Model, error) {
	role, err := gate.RequireRole(approverRoles...)
	if err != nil {
		return nil, fmt.Errorf("route lifecycle: %w", err)
	}
	author, err := gate.DistinctActor(event.RouteDrafted)
	if err != nil {
		return nil, fmt.Errorf("route lifecycle: %w", err)
	}
	with := func(extra ...mes.Option) []mes.Option { return append(append([]mes.Option{}, opts...), extra...) }
	return mes.NewModel(ModelName, 1).
		States(Initial, Draft, Approved, Retired).
		Initial(Initial).
		Final(Retired).
		Permit(Initial, CmdDraft, Draft, with(mes.Recording(event.RouteDrafted))...).
		Permit(Draft, CmdApprove, Approved, with(mes.Recording(event.RouteApproved), mes.WithGates(role, author))...).
		Permit(Draft, CmdRetire, Retired, with(mes.Recording(event.RouteRetired), mes.WithGates(role))...).
		Permit(Approved, CmdRetire, Retired, with(mes.Recording(event.RouteRetired), mes.WithGates(role))...).
		Build()
}

// Config configures Registry.
type Config struct {
	// Model is the route lifecycle. Default: Lifecycle([]string{"qa"}).
	// A model of one's own must be built by Lifecycle, so that its
	// states, commands and event types are the ones Registry reads.
	Model *mes.Model
}

// Registry keeps route versions: it drafts, approves and retires them through
// the engine, so every change is gated and recorded with who made it, and
// loads them back with their content verified. It is safe for concurrent
// use.
type Registry struct {
	engine *mes.Engine
	model  *mes.Model
}

// NewRegistry returns a Registry that runs route versions through engine
// and reads them through it. cfg may be nil.
func NewRegistry(engine *mes.Engine, cfg *Config) (*Registry, error) {
	if engine == nil {
		return nil, errors.New("route: NewRegistry: engine is nil")
	}
	rs := &Registry{engine: engine}
	if cfg != nil && cfg.Model != nil {
		if err := checkRouteModel(cfg.Model); err != nil {
			return nil, fmt.Errorf("route: NewRegistry: Config.Model: %w", err)
		}
		rs.model = cfg.Model
	} else {
		m, err := Lifecycle([]string{"qa"})
		if err != nil {
			return nil, fmt.Errorf("route: NewRegistry: %w", err)
		}
		rs.model = m
	}
	return rs, nil
}

// checkRouteModel makes sure a given model has the route lifecycle's shape.
func checkRouteModel(m *mes.Model) error {
	if m.Name() != ModelName {
		return fmt.Errorf("model %q is not named %q", m.Name(), ModelName)
	}
	if m.Initial() != Initial {
		return fmt.Errorf("initial state %q, want %q", m.Initial(), Initial)
	}
	for _, want := range []struct {
		from mes.State
		cmd  mes.Command
		to   mes.State
		typ  string
	}{
		{Initial, CmdDraft, Draft, event.RouteDrafted},
		{Draft, CmdApprove, Approved, event.RouteApproved},
		{Approved, CmdRetire, Retired, event.RouteRetired},
	} {
		t, err := m.Transition(want.from, want.cmd)
		if err != nil {
			return err
		}
		if t.To != want.to || len(t.Records) == 0 || t.Records[0] != want.typ {
			return fmt.Errorf("%s from %q must lead to %q recording %q", want.cmd, want.from, want.to, want.typ)
		}
	}
	return nil
}

// Model returns the route lifecycle Registry runs.
func (rs *Registry) Model() *mes.Model { return rs.model }

// DraftRequest asks Registry.Draft to record Route as a draft of its
// version.
type DraftRequest struct {
	CommandID string // identifies the command; a retry with the same id has one effect
	Actor     string
	Route     *Route
}

// VersionRequest asks Registry.Approve or Registry.Retire to act on one
// route version.
type VersionRequest struct {
	CommandID string // identifies the command; a retry with the same id has one effect
	Actor     string
	Product   string
	Version   int
}

// routeDraft is the Data of a drafted event.
type routeDraft struct {
	Route  json.RawMessage `json:"route"`
	Digest string          `json:"digest"`
}

// Draft records r as a draft of its version, with its canonical content and
// digest, by actor. It returns a *Error when r is not valid, and then
// records nothing. A version is drafted once: drafting it again is denied
// (a *DeniedError matching ErrIllegalTransition), so the content of a
// version never changes; a change is a new version. Otherwise it returns
// what Engine.Execute returns.
func (rs *Registry) Draft(ctx context.Context, req DraftRequest) (*mes.Outcome, error) {
	r, commandID, actor := req.Route, req.CommandID, req.Actor
	if r == nil {
		return nil, fmt.Errorf("route: Draft: no route: %w", ErrInvalid)
	}
	c, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(routeDraft{Route: c, Digest: Digest(c)})
	if err != nil {
		return nil, fmt.Errorf("route: encode route draft: %w", err)
	}
	return rs.engine.Execute(ctx, mes.Request{ID: commandID, Model: rs.model, Subject: Stream(r.Product, r.Version),
		Command: CmdDraft, Actor: actor, Data: data})
}

// Approve approves a drafted version, by actor. The default lifecycle
// denies it (a *DeniedError, recorded) unless actor holds role "qa" and did
// not draft the version. It returns what Engine.Execute returns.
func (rs *Registry) Approve(ctx context.Context, req VersionRequest) (*mes.Outcome, error) {
	return rs.engine.Execute(ctx, mes.Request{ID: req.CommandID, Model: rs.model, Subject: Stream(req.Product, req.Version),
		Command: CmdApprove, Actor: req.Actor})
}

// Retire retires a version, by actor: it can no longer be bound to a batch.
// Batches already bound to it keep it. It returns what Engine.Execute
// returns.
func (rs *Registry) Retire(ctx context.Context, req VersionRequest) (*mes.Outcome, error) {
	return rs.engine.Execute(ctx, mes.Request{ID: req.CommandID, Model: rs.model, Subject: Stream(req.Product, req.Version),
		Command: CmdRetire, Actor: req.Actor})
}

// Version is a route version as the record holds it.
type Version struct {
	Route    *Route
	Digest   string    // of the canonical content, verified on load
	Status   mes.State // Draft, Approved or Retired
	Drafted  Event
	Approved Event // zero when never approved
	Retired  Event // zero when not retired
}

// Event says who changed a route version's status, and when.
type Event struct {
	Actor    string
	Time     time.Time // the store's time
	Position int64     // global position of the record; 0 when it did not happen
}

// ErrNotFound is matched (errors.Is) when no version of that number
// was ever drafted for the product.
var ErrNotFound = errors.New("route version not found")

// ErrTampered is matched (errors.Is) by every *TamperedError.
var ErrTampered = errors.New("route content does not match its record")

// TamperedError says that a route version's stored content cannot be
// trusted: it does not hash to the digest recorded with it, it does not
// parse or is not a valid route, it names another product or version than
// its stream, or the stream was drafted twice. It matches ErrTampered.
type TamperedError struct {
	Stream   string
	Version  int64  // the record's version in the stream
	Reason   string // what does not match
	Recorded string // the digest recorded with the content
	Computed string // the digest of the stored content; "" when not computed
}

func (e *TamperedError) Error() string {
	if e.Computed != "" && e.Computed != e.Recorded {
		return fmt.Sprintf("%s v%d: %s: recorded %s, computed %s", e.Stream, e.Version, e.Reason, e.Recorded, e.Computed)
	}
	return fmt.Sprintf("%s v%d: %s", e.Stream, e.Version, e.Reason)
}

// Unwrap makes errors.Is(err, ErrTampered) true.
func (e *TamperedError) Unwrap() error { return ErrTampered }

// Load reads a route version from the store, verifies its stored content
// against the digest recorded with it, and returns it with its status and
// who drafted, approved and retired it.
//
// It returns an error matching ErrNotFound when the version was never
// drafted, and a *TamperedError (ErrTampered) when its content
// cannot be trusted. Denied attempts in the stream change nothing.
func (rs *Registry) Load(ctx context.Context, product string, version int) (*Version, error) {
	stream := Stream(product, version)
	recs, err := rs.engine.Records(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("route: load %s: %w", stream, err)
	}
	v, err := rs.readVersion(stream, product, version, recs)
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	return v, nil
}

func (rs *Registry) readVersion(stream, product string, version int, recs []audit.Record) (*Version, error) {
	status, err := mes.Fold(rs.model, "", recs)
	var ue *mes.UnprovenError
	if errors.As(err, &ue) {
		return nil, &TamperedError{Stream: stream, Version: ue.Version, Reason: "the record is not proven: " + ue.Reason}
	}
	if err != nil {
		return nil, err
	}
	v := &Version{Status: status}
	for i := range recs {
		rec := &recs[i]
		var at *Event
		switch rec.Type {
		case event.RouteDrafted:
			at = &v.Drafted
		case event.RouteApproved:
			at = &v.Approved
		case event.RouteRetired:
			at = &v.Retired
		default:
			continue
		}
		var p event.Transition
		if err := json.Unmarshal(rec.Payload, &p); err != nil {
			return nil, &TamperedError{Stream: stream, Version: rec.Version, Reason: "the record does not decode: " + err.Error()}
		}
		if p.Model != rs.model.Name() {
			continue
		}
		if rec.Type == event.RouteDrafted {
			if v.Route != nil {
				return nil, &TamperedError{Stream: stream, Version: rec.Version, Reason: "the version is drafted a second time"}
			}
			if err := v.readDraft(stream, product, version, rec, p.Data); err != nil {
				return nil, err
			}
		}
		*at = Event{Actor: rec.Actor, Time: rec.Time, Position: rec.Position}
	}
	if v.Route == nil {
		return nil, fmt.Errorf("%s: %w", stream, ErrNotFound)
	}
	return v, nil
}

// readDraft verifies and decodes the content of a drafted event.
func (v *Version) readDraft(stream, product string, version int, rec *audit.Record, data json.RawMessage) error {
	tampered := func(reason, recorded, computed string) error {
		return &TamperedError{Stream: stream, Version: rec.Version, Reason: reason, Recorded: recorded, Computed: computed}
	}
	var d routeDraft
	if err := json.Unmarshal(data, &d); err != nil || len(d.Route) == 0 || d.Digest == "" {
		return tampered("the draft carries no route content and digest", "", "")
	}
	// The store keeps payloads canonical; canonicalizing again makes the
	// check independent of how a store hands them back.
	c, err := canonjson.Canonicalize(d.Route)
	if err != nil {
		return tampered("the route content is not JSON: "+err.Error(), d.Digest, "")
	}
	if got := Digest(c); got != d.Digest {
		return tampered("the route content does not hash to its recorded digest", d.Digest, got)
	}
	r, err := Parse(c)
	if err != nil {
		return tampered("the route content does not parse: "+err.Error(), d.Digest, d.Digest)
	}
	if r.Product != product || r.Version != version {
		return tampered(fmt.Sprintf("the content is route %q v%d, not the stream's", r.Product, r.Version), d.Digest, d.Digest)
	}
	if err := r.Validate(); err != nil {
		return tampered("the route content is not valid: "+err.Error(), d.Digest, d.Digest)
	}
	v.Route, v.Digest = r, d.Digest
	return nil
}
