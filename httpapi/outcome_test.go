package httpapi

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// faultyStore is a memory store whose appends fail as the test says:
// after writing (the answer was lost) or instead of writing.
type faultyStore struct {
	storage.Store
	mu    sync.Mutex
	fault func(written bool) error // nil: no fault
	after bool                     // the fault comes after the append is written
	calls int
}

func (s *faultyStore) Append(ctx context.Context, req storage.AppendRequest) (storage.AppendResult, error) {
	s.mu.Lock()
	fault, after := s.fault, s.after
	s.calls++
	s.mu.Unlock()
	if fault == nil {
		return s.Store.Append(ctx, req)
	}
	if after {
		if _, err := s.Store.Append(ctx, req); err != nil {
			return storage.AppendResult{}, err
		}
		s.set(nil, false)
		return storage.AppendResult{}, fault(true)
	}
	return storage.AppendResult{}, fault(false)
}

func (s *faultyStore) set(fault func(bool) error, after bool) {
	s.mu.Lock()
	s.fault, s.after, s.calls = fault, after, 0
	s.mu.Unlock()
}

// TestOutcomes: an unknown outcome answers 503 with Retry-After and the
// same key then gives the recorded outcome; a conflict that outlasts the
// engine's retries answers 409 of its own type; a failure of the service
// answers 500 without its text, which goes to the log.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	store := &faultyStore{Store: memory.New(&memory.Config{Clock: clock.Now})}
	f := newFixture(t, store, clock)
	release := call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", body: `{"model":"batch","command":"release"}`}

	t.Run("unknown outcome", func(t *testing.T) {
		store.set(func(bool) error { return storage.ErrOutcomeUnknown }, true)
		res := f.do(release)
		if p := res.problem(t); res.status != http.StatusServiceUnavailable || p.Type != TypeOutcomeUnknown || res.header.Get("Retry-After") != "1" {
			t.Fatalf("= %d %+v Retry-After %q; want 503 %s after 1 second", res.status, p, res.header.Get("Retry-After"), TypeOutcomeUnknown)
		}
		// The append had landed: the same key finds it and replays it.
		res = f.do(release)
		var out outcomeBody
		res.decode(t, &out)
		if res.status != http.StatusOK || !out.Replayed || out.To != "ready" {
			t.Errorf("retry with the same key = %d %+v; want 200, replayed, ready", res.status, out)
		}
	})

	t.Run("conflict after retries", func(t *testing.T) {
		store.set(func(bool) error { return &storage.ConflictError{Stream: "batch-B1", Expected: 1, Actual: 2} }, false)
		defer store.set(nil, false)
		before := f.heads()
		res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "k-2", body: `{"model":"batch","command":"start"}`})
		if p := res.problem(t); res.status != http.StatusConflict || p.Type != TypeConflict {
			t.Errorf("= %d %+v; want 409 %s", res.status, p, TypeConflict)
		}
		if store.calls != f.env.Engine.MaxRetries()+1 {
			t.Errorf("%d appends; want the engine's retries, %d, and the first", store.calls, f.env.Engine.MaxRetries())
		}
		if len(before) != len(f.heads()) {
			t.Error("a conflicting command wrote")
		}
	})

	t.Run("clock behind", func(t *testing.T) {
		store.set(func(bool) error { return &storage.ClockError{Stream: "batch-B1"} }, false)
		defer store.set(nil, false)
		res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "k-3", body: `{"model":"batch","command":"start"}`})
		if p := res.problem(t); res.status != http.StatusServiceUnavailable || p.Type != TypeUnavailable {
			t.Errorf("= %d %+v; want 503 %s", res.status, p, TypeUnavailable)
		}
	})

	t.Run("failure of the service", func(t *testing.T) {
		var logs bytes.Buffer
		h, err := New(f.env.Engine, f.env.Store, &Config{Authenticate: bearer, Models: f.h.cfg.Models,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		store.set(func(bool) error { return errors.New("disk on fire at /var/lib/secret") }, false)
		defer store.set(nil, false)
		res := do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "k-4", body: `{"model":"batch","command":"start"}`})
		p := res.problem(t)
		if res.status != http.StatusInternalServerError || p.Type != TypeInternal || strings.Contains(string(res.body), "secret") {
			t.Errorf("= %d %s; want 500 %s without the error's text", res.status, res.body, TypeInternal)
		}
		if !strings.Contains(logs.String(), "disk on fire") {
			t.Errorf("log = %q; want the error", logs.String())
		}
	})
}

// TestModelVersion: a request that names no version runs under the
// version the subject runs, and one that names another is a conflict.
func TestModelVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	if res := f.do(call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", body: `{"model":"batch","command":"release"}`}); res.status != 200 {
		t.Fatalf("release = %d %s", res.status, res.body)
	}
	v1 := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	v2 := mestest.Must[*mes.Model](t)(mes.NewModel("batch", 2).States("planned", "ready", "in-progress").Initial("planned").Final("in-progress").
		Permit("planned", mes.CmdRelease, "ready", mes.Recording("batch.released")).
		Permit("ready", mes.CmdStart, "in-progress", mes.Recording("batch.started")).Build())
	reg := mestest.Must[*mes.Registry](t)(mes.NewRegistry(v1, v2))
	h := mestest.Must[*Handler](t)(New(f.env.Engine, f.env.Store, &Config{Authenticate: bearer, Models: reg}))

	res := do(t, h, get("op-7", "/subjects/batch-B1/state?model=batch&version=2"))
	if p := res.problem(t); res.status != http.StatusConflict || p.Type != TypeModelVersion || p.Field != "version" {
		t.Errorf("state under version 2 = %d %+v; want 409 %s", res.status, p, TypeModelVersion)
	}
	var s stateBody
	do(t, h, get("op-7", "/subjects/batch-B1/state?model=batch")).decode(t, &s)
	if s.State != "ready" || s.Version != 1 {
		t.Errorf("state under no version = %+v; want ready under version 1", s)
	}
	var d dispatchAnswer
	do(t, h, call{method: http.MethodPost, path: "/dispatch", actor: "op-7",
		body: `{"subjects":[{"subject":"batch-B2","model":"batch"},{"subject":"batch-B1","model":"batch"}]}`}).decode(t, &d)
	if len(d.Subjects) != 2 || d.Subjects[1].State != "ready" || !slices.Contains(d.Subjects[1].Allowed, "start") {
		t.Errorf("dispatch = %+v; want batch-B1 ready under version 1, start allowed", d)
	}
	var v verdictBody
	do(t, h, call{method: http.MethodPost, path: "/subjects/batch-B1/checks", actor: "qa-3", body: `{"model":"batch","command":"start"}`}).decode(t, &v)
	if v.Allowed || len(v.Reasons) == 0 || v.Reasons[0].Code != "role.missing" {
		t.Errorf("check under no version = %+v; want version 1's role gate to deny qa-3", v)
	}
	// A command names no version: it runs under version 1, whose role
	// gate denies qa-3 (version 2 has none).
	res = do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "qa-3", key: "k-2", body: `{"model":"batch","command":"start"}`})
	if p := res.problem(t); res.status != http.StatusUnprocessableEntity || len(p.Reasons) == 0 || p.Reasons[0].Code != "role.missing" {
		t.Errorf("start under no version = %d %+v; want 422 role.missing under version 1", res.status, p)
	}
	res = do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "k-3", body: `{"model":"batch","version":2,"command":"start"}`})
	if p := res.problem(t); res.status != http.StatusConflict || p.Type != TypeModelVersion {
		t.Errorf("start under version 2 = %d %+v; want 409 %s", res.status, p, TypeModelVersion)
	}
}

// TestNewValidates: a config without its required fields, or with
// negative bounds, names every problem.
func TestNewValidates(t *testing.T) {
	_, err := New(nil, nil, &Config{MaxBodyBytes: -1, MaxSubjects: -1, RetryAfter: -1})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"no engine", "no store", "Authenticate", "Models", "MaxBodyBytes", "MaxSubjects", "RetryAfter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestUnproven: a transition record written around the engine moves
// nothing; the subject answers 409 until someone investigates it, for a
// read and for a command alike.
func TestUnproven(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	payload := `{"command":"release","command_id":"forged","from":"planned","to":"ready","model":"batch","model_version":1}`
	if _, err := f.env.Store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-B9",
		Events: []storage.Event{{Type: "batch.released", Actor: "mallory", Payload: []byte(payload)}}}}}); err != nil {
		t.Fatal(err)
	}
	before := f.heads()
	for _, c := range []call{
		get("op-7", "/subjects/batch-B9/state?model=batch"),
		{method: http.MethodPost, path: "/subjects/batch-B9/commands", actor: "op-7", key: "k-1", body: `{"model":"batch","command":"start"}`},
	} {
		res := f.do(c)
		if p := res.problem(t); res.status != http.StatusConflict || p.Type != TypeUnproven {
			t.Errorf("%s %s = %d %+v; want 409 %s", c.method, c.path, res.status, p, TypeUnproven)
		}
	}
	if len(before) != len(f.heads()) {
		t.Error("a command on an unproven subject wrote")
	}
}

// TestHoldsNoWriter: nothing the handler keeps has a type that can
// append, and its code neither names storage.Store nor calls an Append,
// so no route writes but through the engine.
func TestHoldsNoWriter(t *testing.T) {
	writer := reflect.TypeFor[interface {
		Append(context.Context, storage.AppendRequest) (storage.AppendResult, error)
	}]()
	pkg := reflect.TypeFor[Handler]().PkgPath()
	seen := map[reflect.Type]bool{}
	var walk func(name string, typ reflect.Type)
	walk = func(name string, typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ.Implements(writer) || reflect.PointerTo(typ).Implements(writer) {
			t.Errorf("%s (%s) can append", name, typ)
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(name, typ.Elem())
		case reflect.Struct:
			if typ.PkgPath() == pkg {
				for i := range typ.NumField() {
					walk(name+"."+typ.Field(i).Name, typ.Field(i).Type)
				}
			}
		}
	}
	walk("Handler", reflect.TypeFor[Handler]())
	if len(seen) < 10 {
		t.Errorf("walked %d types; the walk does not reach the handler's fields", len(seen))
	}

	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "storage" && (sel.Sel.Name == "Store" || sel.Sel.Name == "AppendRequest") {
					t.Errorf("%s: names storage.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				if sel.Sel.Name == "Append" || sel.Sel.Name == "SaveCheckpoint" {
					t.Errorf("%s: calls %s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
