package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

var routeNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// routePeople registers people with roles by appending their events to the
// store directly, as a fixture. The fact rides both at the top of the
// payload and in its data, so either way of reading facts finds it.
func routePeople(tb testing.TB, s storage.Store, roles map[string]string) {
	tb.Helper()
	for id, role := range roles {
		ev := func(typ string, fact map[string]string) storage.Event {
			p := map[string]any{"data": fact}
			for k, v := range fact {
				p[k] = v
			}
			raw, _ := json.Marshal(p)
			return storage.Event{Type: typ, Actor: "admin", Payload: raw}
		}
		if _, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: event.PersonStream(id),
			Events: []storage.Event{ev(event.PersonRegistered, map[string]string{"name": id}), ev(event.PersonRoleGranted, map[string]string{"role": role})},
		}}}); err != nil {
			tb.Fatal(err)
		}
	}
}

// routeEnv is an engine, its store and Routes, with an author, two QA
// people and an operator.
func routeEnv(tb testing.TB, s storage.Store) (*mes.Engine, *route.Registry) {
	tb.Helper()
	e, err := mes.New(s, &mes.Config{Clock: func() time.Time { return routeNow }})
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := route.NewRegistry(e, nil)
	if err != nil {
		tb.Fatal(err)
	}
	routePeople(tb, s, map[string]string{"au-1": "author", "qa-3": "qa", "qa-4": "qa", "op-7": "operator"})
	return e, rs
}

func routeMemory(tb testing.TB) storage.Store {
	return memory.New(&memory.Config{Clock: func() time.Time { return routeNow }})
}

func TestRouteLifecycleMemory(t *testing.T) {
	t.Parallel()
	testRouteLifecycle(t, routeMemory(t))
}

func TestRouteLifecyclePostgres(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: func() time.Time { return routeNow }})
	if err != nil {
		t.Fatal(err)
	}
	testRouteLifecycle(t, s)
}

// deniedCodes returns the codes of a denial, failing the test for any other
// outcome.
func deniedCodes(tb testing.TB, err error) []gate.Code {
	tb.Helper()
	var de *mes.DeniedError
	if !errors.As(err, &de) {
		tb.Fatalf("error = %v, want a *DeniedError", err)
	}
	var codes []gate.Code
	for _, r := range de.Reasons {
		codes = append(codes, r.Code)
	}
	return codes
}

func testRouteLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	_, rs := routeEnv(t, s)
	r := routeFixture()
	want, err := r.Digest()
	if err != nil {
		t.Fatal(err)
	}

	if _, err := rs.Load(ctx, "P-100", 1); !errors.Is(err, route.ErrNotFound) {
		t.Fatalf("Load before drafting: %v, want ErrRouteNotFound", err)
	}
	bad := routeFixture()
	bad.Operations[0].Steps[0].Instructions = ""
	if _, err := rs.Draft(ctx, route.DraftRequest{CommandID: "d-0", Actor: "qa-3", Route: bad}); !errors.Is(err, route.ErrInvalid) {
		t.Fatalf("Draft of an invalid route: %v, want ErrInvalidRoute", err)
	}
	if recs, _ := s.Load(ctx, route.Stream("P-100", 1), 1); len(recs) != 0 {
		t.Fatalf("an invalid draft left %d records", len(recs))
	}

	if out, err := rs.Draft(ctx, route.DraftRequest{CommandID: "d-1", Actor: "qa-3", Route: r}); err != nil || out.To != route.Draft {
		t.Fatalf("Draft: %+v, %v", out, err)
	}
	if _, err := rs.Bind(ctx, "P-100", 1); !errors.Is(err, route.ErrNotApproved) {
		t.Fatalf("Bind a draft: %v, want ErrRouteNotApproved", err)
	}
	// The author may not approve their own route, and an operator may not
	// approve at all; both attempts are on the record.
	if codes := deniedCodes(t, ignoreOutcome(rs.Approve(ctx, route.VersionRequest{CommandID: "a-1", Actor: "qa-3", Product: "P-100", Version: 1}))); !cmp.Equal(codes, []gate.Code{gate.CodeSameActor}) {
		t.Errorf("self-approval denied for %v, want [%s]", codes, gate.CodeSameActor)
	}
	if codes := deniedCodes(t, ignoreOutcome(rs.Approve(ctx, route.VersionRequest{CommandID: "a-2", Actor: "op-7", Product: "P-100", Version: 1}))); !cmp.Equal(codes, []gate.Code{gate.CodeRoleMissing}) {
		t.Errorf("approval by an operator denied for %v, want [%s]", codes, gate.CodeRoleMissing)
	}
	changed := routeFixture()
	changed.Operations[0].Steps[0].Instructions = "Something else."
	if _, err := rs.Draft(ctx, route.DraftRequest{CommandID: "d-2", Actor: "au-1", Route: changed}); !errors.Is(err, mes.ErrIllegalTransition) {
		t.Fatalf("drafting v1 again: %v, want ErrIllegalTransition", err)
	}
	if out, err := rs.Approve(ctx, route.VersionRequest{CommandID: "a-3", Actor: "qa-4", Product: "P-100", Version: 1}); err != nil || out.To != route.Approved {
		t.Fatalf("Approve by qa-4: %+v, %v", out, err)
	}

	v, err := rs.Load(ctx, "P-100", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, v.Route, routeCmp); diff != "" {
		t.Errorf("loaded route (-want +got):\n%s", diff)
	}
	got := struct {
		Digest, Drafter, Approver string
		Status                    mes.State
		Retired                   route.Event
	}{v.Digest, v.Drafted.Actor, v.Approved.Actor, v.Status, v.Retired}
	wantV := struct {
		Digest, Drafter, Approver string
		Status                    mes.State
		Retired                   route.Event
	}{want, "qa-3", "qa-4", route.Approved, route.Event{}}
	if diff := cmp.Diff(wantV, got); diff != "" {
		t.Errorf("loaded version (-want +got):\n%s", diff)
	}
	if v.Approved.Position <= v.Drafted.Position || !v.Approved.Time.Equal(routeNow) {
		t.Errorf("approval %+v after draft %+v: want a later position and the store's time", v.Approved, v.Drafted)
	}
	recs, err := s.Load(ctx, route.Stream("P-100", 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, rec := range recs {
		trail = append(trail, rec.Type+" by "+rec.Actor)
	}
	wantTrail := []string{"route.drafted by qa-3", "attempt.denied by qa-3", "attempt.denied by op-7", "attempt.denied by au-1", "route.approved by qa-4"}
	if diff := cmp.Diff(wantTrail, trail); diff != "" {
		t.Errorf("route stream (-want +got):\n%s", diff)
	}

	b, err := rs.Bind(ctx, "P-100", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(route.Binding{Product: "P-100", Version: 1, Digest: want}, b); diff != "" {
		t.Errorf("binding (-want +got):\n%s", diff)
	}

	if codes := deniedCodes(t, ignoreOutcome(rs.Retire(ctx, route.VersionRequest{CommandID: "r-1", Actor: "au-1", Product: "P-100", Version: 1}))); !cmp.Equal(codes, []gate.Code{gate.CodeRoleMissing}) {
		t.Errorf("retirement by the author denied for %v, want [%s]", codes, gate.CodeRoleMissing)
	}
	if _, err := rs.Retire(ctx, route.VersionRequest{CommandID: "r-2", Actor: "qa-3", Product: "P-100", Version: 1}); err != nil {
		t.Fatal(err)
	}
	var na *route.NotApprovedError
	if _, err := rs.Bind(ctx, "P-100", 1); !errors.As(err, &na) || na.Status != route.Retired {
		t.Fatalf("Bind a retired version: %v, want a *RouteNotApprovedError saying retired", err)
	}
	if v, err := rs.Load(ctx, "P-100", 1); err != nil || v.Retired.Actor != "qa-3" || v.Status != route.Retired {
		t.Errorf("Load after retirement: %+v, %v", v, err)
	}
}

func ignoreOutcome(_ *mes.Outcome, err error) error { return err }

func TestNewRoutesConfig(t *testing.T) {
	t.Parallel()
	s := routeMemory(t)
	e, err := mes.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	custom, err := route.Lifecycle([]string{"qa", "regulatory"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := lifecycle.Step()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		engine *mes.Engine
		store  storage.Store
		cfg    *route.Config
		ok     bool
	}{
		{"defaults", e, s, nil, true},
		{"own route model", e, s, &route.Config{Model: custom}, true},
		{"no engine", nil, s, nil, false},
		{"another model", e, s, &route.Config{Model: other}, false},
	}
	for _, tt := range tests {
		_, err := route.NewRegistry(tt.engine, tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if _, err := route.Lifecycle(nil); err == nil {
		t.Error("RouteLifecycle without approver roles: no error")
	}
}

// TestRouteTamperDetected writes route versions around the engine, as a
// faulty integration or a forger would, and expects Load to refuse each.
func TestRouteTamperDetected(t *testing.T) {
	t.Parallel()
	good, err := routeFixture().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	edited := []byte(string(good[:len(good)-1]) + `,"zz":1}`)
	otherVersion := routeFixture()
	otherVersion.Version = 2
	other, err := otherVersion.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	instr, err := json.Marshal("Scan the API lot.")
	if err != nil {
		t.Fatal(err)
	}
	swapped := []byte(replaceOnce(string(good), string(instr), `"Scan any lot."`))
	stream := route.Stream("P-100", 1)
	tests := []struct {
		name   string
		drafts [][]byte // each the Data of one forged draft event
		want   *route.TamperedError
	}{
		{"content edited, digest kept", [][]byte{routeDraftData(swapped, route.Digest(good))},
			&route.TamperedError{Stream: stream, Version: 1, Reason: "the route content does not hash to its recorded digest", Recorded: route.Digest(good), Computed: route.Digest(swapped)}},
		{"content of another version", [][]byte{routeDraftData(other, route.Digest(other))},
			&route.TamperedError{Stream: stream, Version: 1, Reason: `the content is route "P-100" v2, not the stream's`, Recorded: route.Digest(other), Computed: route.Digest(other)}},
		{"content that does not parse", [][]byte{routeDraftData(edited, route.Digest(edited))},
			&route.TamperedError{Stream: stream, Version: 1, Recorded: route.Digest(edited), Computed: route.Digest(edited)}},
		{"no content", [][]byte{[]byte(`{}`)},
			&route.TamperedError{Stream: stream, Version: 1, Reason: "the draft carries no route content and digest"}},
		{"drafted twice", [][]byte{routeDraftData(good, route.Digest(good)), routeDraftData(good, route.Digest(good))},
			&route.TamperedError{Stream: stream, Version: 2, Reason: `the record is not proven: it moves from "new", but the subject stood in "draft"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := routeMemory(t)
			_, rs := routeEnv(t, s)
			for i, data := range tt.drafts {
				payload, err := json.Marshal(event.Transition{CommandID: "forged", Model: route.ModelName, ModelVersion: 1,
					Command: route.CmdDraft, From: route.Initial, To: route.Draft, Data: data})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(i),
					Events: []storage.Event{{Type: event.RouteDrafted, Actor: "forger", Payload: payload}}}}}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := rs.Load(t.Context(), "P-100", 1)
			var te *route.TamperedError
			if !errors.As(err, &te) || !errors.Is(err, route.ErrTampered) {
				t.Fatalf("Load: %v, want a *RouteTamperedError", err)
			}
			ignoreReason := tt.want.Reason == ""
			if ignoreReason {
				te.Reason = ""
			}
			if diff := cmp.Diff(tt.want, te); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if _, err := rs.Bind(t.Context(), "P-100", 1); !errors.Is(err, route.ErrTampered) {
				t.Errorf("Bind: %v, want ErrRouteTampered", err)
			}
		})
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

func TestParseRouteStream(t *testing.T) {
	t.Parallel()
	type parsed struct {
		Product string
		Version int
		OK      bool
	}
	tests := map[string]parsed{
		route.Stream("P-100", 1):        {"P-100", 1, true},
		route.Stream("P.v2", 12):        {"P.v2", 12, true},
		"route/P/v0":                    {},
		"route/P/v01":                   {},
		"route/P/v+1":                   {},
		"route/a/b/v1":                  {},
		"route//v1":                     {},
		"batch/P/v1":                    {},
		"route/P":                       {},
		"route/P/v99999999999999999999": {},
	}
	for in, want := range tests {
		p, v, err := route.ParseStream(in)
		if diff := cmp.Diff(want, parsed{p, v, err == nil}); diff != "" {
			t.Errorf("ParseRouteStream(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// FuzzParseRouteStream checks that whatever ParseRouteStream accepts is
// exactly what RouteStream makes.
func FuzzParseRouteStream(f *testing.F) {
	f.Add("route/P-100/v1")
	f.Add("route/a/v/v2")
	f.Fuzz(func(t *testing.T, in string) {
		p, v, err := route.ParseStream(in)
		if err != nil {
			return
		}
		if route.Stream(p, v) != in || v < 1 || p == "" {
			t.Fatalf("ParseRouteStream(%q) = %q, %d", in, p, v)
		}
	})
}

// routeDraftData is the Data of a drafted route's record, as a forger
// would write it.
func routeDraftData(content []byte, digest string) []byte {
	raw, _ := json.Marshal(struct {
		Route  json.RawMessage `json:"route"`
		Digest string          `json:"digest"`
	}{content, digest})
	return raw
}
