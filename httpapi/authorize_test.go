package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// with returns a handler over the fixture's engine and store, configured
// as the fixture's but changed by change.
func (f *fixture) with(change func(*Config)) *Handler {
	f.t.Helper()
	c := f.h.cfg
	change(&c)
	h, err := New(f.env.Engine, f.env.Store, &c)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// TestAuthorize: Config.Authorize is asked with the authenticated actor
// and the route's operation before anything runs; a refusal answers 403
// with a problem and records nothing, and an allowed caller still meets
// the engine's gates.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) {
		f := newFixture(t, s, clock)
		var asked []string
		h := f.with(func(c *Config) {
			c.Authorize = func(r *http.Request, actor string, op Operation) error {
				asked = append(asked, actor+" "+string(op))
				// Only QA may sign audit reviews; op-7 may run
				// commands and read state, nothing else.
				switch {
				case op == OpAuditReview && actor != "qa-3":
					return errors.New("only QA signs audit reviews")
				case actor == "op-7" && op != OpExecute && op != OpState:
					return errors.New("operators run commands")
				}
				return nil
			}
		})
		before := f.heads()
		for _, c := range []call{
			{method: http.MethodPost, path: "/audit/reviews", actor: "sv-1", key: "rev-1",
				body: `{"sign":{"user":"sv-1","secret":"` + secret + `"}}`},
			{method: http.MethodPost, path: batchCommands[:len(batchCommands)-len("commands")] + "checks", actor: "op-7",
				body: `{"model":"batch","command":"release"}`},
			get("op-7", "/records"),
			get("op-7", "/audit/trail?format=csv"),
		} {
			res := do(t, h, c)
			p := res.problem(t)
			if res.status != http.StatusForbidden || p.Type != TypeForbidden {
				t.Errorf("%s %s by %s = %d %+v; want 403 %s", c.method, c.path, c.actor, res.status, p, TypeForbidden)
			}
		}
		if d := cmp.Diff(before, f.heads()); d != "" {
			t.Errorf("a refused request wrote (-before +after):\n%s", d)
		}
		if !slices.Contains(asked, "sv-1 auditReview") || !slices.Contains(asked, "op-7 check") {
			t.Errorf("Authorize was asked %q; want the operations by their operationId", asked)
		}

		// Allowed through the coarse gate, the engine's gates still
		// decide: an operator may not release a batch.
		res := do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "op-7", key: "k-1",
			body: `{"model":"batch","version":1,"command":"release"}`})
		if p := res.problem(t); res.status != http.StatusUnprocessableEntity || p.Type != TypeDenied {
			t.Errorf("release by op-7 = %d %+v; want 422 denied by the engine", res.status, p)
		}
		res = do(t, h, call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-2",
			body: `{"model":"batch","version":1,"command":"release"}`})
		if res.status != http.StatusOK {
			t.Errorf("release by sv-1 = %d %s; want 200", res.status, res.body)
		}
		// The document needs no authorisation, and is not asked about.
		asked = nil
		if res := do(t, h, call{method: http.MethodGet, path: "/openapi.json"}); res.status != http.StatusOK || len(asked) != 0 {
			t.Errorf("GET /openapi.json = %d, Authorize asked %q; want 200 without asking", res.status, asked)
		}
		// Unauthenticated callers are refused before Authorize is asked.
		if res := do(t, h, call{method: http.MethodGet, path: "/records"}); res.status != http.StatusUnauthorized || len(asked) != 0 {
			t.Errorf("GET /records without credentials = %d, Authorize asked %q; want 401 without asking", res.status, asked)
		}
	})
}

// TestOperationsMatchDocument: every route's Operation is its operationId
// in the OpenAPI document, so that an integrator's Authorize reads the
// same names as the document.
func TestOperationsMatchDocument(t *testing.T) {
	f := newFixture(t, nil, nil)
	if err := loadDoc(); err != nil {
		t.Fatal(err)
	}
	seen := map[Operation]bool{}
	for _, rt := range f.h.routes {
		method, path, _ := cutPattern(rt.pattern)
		id, _ := lookup("/paths/" + escape(path) + "/" + method + "/operationId")
		if id != string(rt.op) {
			t.Errorf("%s: operation %q, the document's operationId %v", rt.pattern, rt.op, id)
		}
		if seen[rt.op] {
			t.Errorf("%s: operation %q named twice", rt.pattern, rt.op)
		}
		seen[rt.op] = true
	}
}

func cutPattern(p string) (method, path string, ok bool) {
	m, path, ok := strings.Cut(p, " ")
	return strings.ToLower(m), path, ok
}
