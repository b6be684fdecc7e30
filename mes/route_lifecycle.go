package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/storage"
)

// The states of a route version. Only an approved version can be bound to a
// batch.
const (
	RouteNew      State = "new" // nothing drafted in the stream yet
	RouteDraft    State = "draft"
	RouteApproved State = "approved"
	RouteRetired  State = "retired"
)

// The commands of the route lifecycle.
const (
	CmdDraftRoute   Command = "draft"
	CmdApproveRoute Command = "approve"
	CmdRetireRoute  Command = "retire"
)

// The event types of a route stream. The drafted event's Data is the
// routeDraft JSON: {"route": canonical content, "digest": its digest}; the
// others carry no data.
const ()

// RouteModelName is the name of the model RouteLifecycle builds.
const RouteModelName = "route"

// RouteStream returns the stream of one route version:
// "route/<product>/v<version>". Every version is its own stream, so
// drafting, approving or retiring one version never touches another.
func RouteStream(product string, version int) string {
	return "route/" + product + "/v" + strconv.Itoa(version)
}

// ParseRouteStream splits a stream id made by RouteStream. It returns an
// error for anything else.
func ParseRouteStream(stream string) (product string, version int, err error) {
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

// RouteLifecycle returns the route version model: a version is drafted with
// its content, approved, and retired (a draft may be retired unapproved).
// Approving and retiring need one of approverRoles; approving also needs a
// person other than the one who drafted it (gate.DistinctActor on
// event.RouteDrafted), so nobody approves their own route. opts add to
// every transition, such as a role gate on drafting.
func RouteLifecycle(approverRoles []string, opts ...Option) (*Model, error) {
	role, err := gate.RequireRole(approverRoles...)
	if err != nil {
		return nil, fmt.Errorf("route lifecycle: %w", err)
	}
	author, err := gate.DistinctActor(event.RouteDrafted)
	if err != nil {
		return nil, fmt.Errorf("route lifecycle: %w", err)
	}
	with := func(extra ...Option) []Option { return append(append([]Option{}, opts...), extra...) }
	return NewModel(RouteModelName, 1).
		States(RouteNew, RouteDraft, RouteApproved, RouteRetired).
		Initial(RouteNew).
		Final(RouteRetired).
		Permit(RouteNew, CmdDraftRoute, RouteDraft, with(Recording(event.RouteDrafted))...).
		Permit(RouteDraft, CmdApproveRoute, RouteApproved, with(Recording(event.RouteApproved), WithGates(role, author))...).
		Permit(RouteDraft, CmdRetireRoute, RouteRetired, with(Recording(event.RouteRetired), WithGates(role))...).
		Permit(RouteApproved, CmdRetireRoute, RouteRetired, with(Recording(event.RouteRetired), WithGates(role))...).
		Build()
}

// RoutesConfig configures Routes.
type RoutesConfig struct {
	// Model is the route lifecycle. Default: RouteLifecycle([]string{"qa"}).
	// A model of one's own must be built by RouteLifecycle, so that its
	// states, commands and event types are the ones Routes reads.
	Model *Model
}

// Routes keeps route versions: it drafts, approves and retires them through
// the engine, so every change is gated and recorded with who made it, and
// loads them back with their content verified. It is safe for concurrent
// use.
type Routes struct {
	engine *Engine
	store  storage.Store
	model  *Model
}

// NewRoutes returns Routes over engine and store, which must be the store
// the engine writes. cfg may be nil.
func NewRoutes(engine *Engine, store storage.Store, cfg *RoutesConfig) (*Routes, error) {
	if engine == nil {
		return nil, errors.New("mes: NewRoutes: engine is nil")
	}
	if store == nil {
		return nil, errors.New("mes: NewRoutes: store is nil")
	}
	rs := &Routes{engine: engine, store: store}
	if cfg != nil && cfg.Model != nil {
		if err := checkRouteModel(cfg.Model); err != nil {
			return nil, fmt.Errorf("mes: NewRoutes: RoutesConfig.Model: %w", err)
		}
		rs.model = cfg.Model
	} else {
		m, err := RouteLifecycle([]string{"qa"})
		if err != nil {
			return nil, fmt.Errorf("mes: NewRoutes: %w", err)
		}
		rs.model = m
	}
	return rs, nil
}

// checkRouteModel makes sure a given model has the route lifecycle's shape.
func checkRouteModel(m *Model) error {
	if m.Name() != RouteModelName {
		return fmt.Errorf("model %q is not named %q", m.Name(), RouteModelName)
	}
	if m.Initial() != RouteNew {
		return fmt.Errorf("initial state %q, want %q", m.Initial(), RouteNew)
	}
	for _, want := range []struct {
		from State
		cmd  Command
		to   State
		typ  string
	}{
		{RouteNew, CmdDraftRoute, RouteDraft, event.RouteDrafted},
		{RouteDraft, CmdApproveRoute, RouteApproved, event.RouteApproved},
		{RouteApproved, CmdRetireRoute, RouteRetired, event.RouteRetired},
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

// Model returns the route lifecycle Routes runs.
func (rs *Routes) Model() *Model { return rs.model }

// routeDraft is the Data of a drafted event.
type routeDraft struct {
	Route  json.RawMessage `json:"route"`
	Digest string          `json:"digest"`
}

// Draft records r as a draft of its version, with its canonical content and
// digest, by actor. It returns a *RouteError when r is not valid, and then
// records nothing. A version is drafted once: drafting it again is denied
// (a *DeniedError matching ErrIllegalTransition), so the content of a
// version never changes; a change is a new version. Otherwise it returns
// what Engine.Execute returns.
func (rs *Routes) Draft(ctx context.Context, commandID, actor string, r *Route) (*Outcome, error) {
	c, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(routeDraft{Route: c, Digest: digestOf(c)})
	if err != nil {
		return nil, fmt.Errorf("mes: encode route draft: %w", err)
	}
	return rs.engine.Execute(ctx, Request{ID: commandID, Model: rs.model, Subject: RouteStream(r.Product, r.Version),
		Command: CmdDraftRoute, Actor: actor, Data: data})
}

// Approve approves a drafted version, by actor. The default lifecycle
// denies it (a *DeniedError, recorded) unless actor holds role "qa" and did
// not draft the version. It returns what Engine.Execute returns.
func (rs *Routes) Approve(ctx context.Context, commandID, actor, product string, version int) (*Outcome, error) {
	return rs.engine.Execute(ctx, Request{ID: commandID, Model: rs.model, Subject: RouteStream(product, version),
		Command: CmdApproveRoute, Actor: actor})
}

// Retire retires a version, by actor: it can no longer be bound to a batch.
// Batches already bound to it keep it. It returns what Engine.Execute
// returns.
func (rs *Routes) Retire(ctx context.Context, commandID, actor, product string, version int) (*Outcome, error) {
	return rs.engine.Execute(ctx, Request{ID: commandID, Model: rs.model, Subject: RouteStream(product, version),
		Command: CmdRetireRoute, Actor: actor})
}

// RouteVersion is a route version as the record holds it.
type RouteVersion struct {
	Route    *Route
	Digest   string // of the canonical content, verified on load
	Status   State  // RouteDraft, RouteApproved or RouteRetired
	Drafted  RouteEvent
	Approved RouteEvent // zero when never approved
	Retired  RouteEvent // zero when not retired
}

// RouteEvent says who changed a route version's status, and when.
type RouteEvent struct {
	Actor    string
	Time     time.Time // the store's time
	Position int64     // global position of the record; 0 when it did not happen
}

// ErrRouteNotFound is matched (errors.Is) when no version of that number
// was ever drafted for the product.
var ErrRouteNotFound = errors.New("route version not found")

// ErrRouteTampered is matched (errors.Is) by every *RouteTamperedError.
var ErrRouteTampered = errors.New("route content does not match its record")

// RouteTamperedError says that a route version's stored content cannot be
// trusted: it does not hash to the digest recorded with it, it does not
// parse or is not a valid route, it names another product or version than
// its stream, or the stream was drafted twice. It matches ErrRouteTampered.
type RouteTamperedError struct {
	Stream   string
	Version  int64  // the record's version in the stream
	Reason   string // what does not match
	Recorded string // the digest recorded with the content
	Computed string // the digest of the stored content; "" when not computed
}

func (e *RouteTamperedError) Error() string {
	if e.Computed != "" && e.Computed != e.Recorded {
		return fmt.Sprintf("%s v%d: %s: recorded %s, computed %s", e.Stream, e.Version, e.Reason, e.Recorded, e.Computed)
	}
	return fmt.Sprintf("%s v%d: %s", e.Stream, e.Version, e.Reason)
}

// Unwrap makes errors.Is(err, ErrRouteTampered) true.
func (e *RouteTamperedError) Unwrap() error { return ErrRouteTampered }

// Load reads a route version from the store, verifies its stored content
// against the digest recorded with it, and returns it with its status and
// who drafted, approved and retired it.
//
// It returns an error matching ErrRouteNotFound when the version was never
// drafted, and a *RouteTamperedError (ErrRouteTampered) when its content
// cannot be trusted. Denied attempts in the stream change nothing.
func (rs *Routes) Load(ctx context.Context, product string, version int) (*RouteVersion, error) {
	stream := RouteStream(product, version)
	recs, err := rs.store.Load(ctx, stream, 1)
	if err != nil {
		return nil, fmt.Errorf("mes: load %s: %w", stream, err)
	}
	v, err := rs.readVersion(stream, product, version, recs)
	if err != nil {
		return nil, fmt.Errorf("mes: %w", err)
	}
	return v, nil
}

func (rs *Routes) readVersion(stream, product string, version int, recs []audit.Record) (*RouteVersion, error) {
	status, err := Fold(rs.model, "", recs)
	if err != nil {
		return nil, err
	}
	v := &RouteVersion{Status: status}
	for i := range recs {
		rec := &recs[i]
		var at *RouteEvent
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
			return nil, &RouteTamperedError{Stream: stream, Version: rec.Version, Reason: "the record does not decode: " + err.Error()}
		}
		if p.Model != rs.model.Name() {
			continue
		}
		if rec.Type == event.RouteDrafted {
			if v.Route != nil {
				return nil, &RouteTamperedError{Stream: stream, Version: rec.Version, Reason: "the version is drafted a second time"}
			}
			if err := v.readDraft(stream, product, version, rec, p.Data); err != nil {
				return nil, err
			}
		}
		*at = RouteEvent{Actor: rec.Actor, Time: rec.Time, Position: rec.Position}
	}
	if v.Route == nil {
		return nil, fmt.Errorf("%s: %w", stream, ErrRouteNotFound)
	}
	return v, nil
}

// readDraft verifies and decodes the content of a drafted event.
func (v *RouteVersion) readDraft(stream, product string, version int, rec *audit.Record, data json.RawMessage) error {
	tampered := func(reason, recorded, computed string) error {
		return &RouteTamperedError{Stream: stream, Version: rec.Version, Reason: reason, Recorded: recorded, Computed: computed}
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
	if got := digestOf(c); got != d.Digest {
		return tampered("the route content does not hash to its recorded digest", d.Digest, got)
	}
	r, err := ParseRoute(c)
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
