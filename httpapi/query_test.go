package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestQueryParameters: every route refuses a query parameter its
// OpenAPI operation does not declare, naming it, and a parameter given
// twice unless it is an array; a misspelt "verison" is not ignored. The
// caller is authenticated first.
func TestQueryParameters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	params, err := queryParams()
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range f.h.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{subject}", "batch-1", "{node}", "lot-L7", "{batch}", "batch-1").Replace(path)
		c := call{method: method, path: path + "?nope=1", actor: "qa-3"}
		if method == http.MethodPost {
			c.body, c.key = "{}", "k-"+string(rt.op)
		}
		res := f.do(c)
		if res.status != http.StatusBadRequest || res.problem(t).Field != "nope" {
			t.Errorf("%s with ?nope=1: %d %s, want 400 naming nope", rt.pattern, res.status, res.body)
		}
		// Each parameter the document declares is taken.
		for _, p := range params[rt.op] {
			r := httptest.NewRequest(method, path+"?"+p.Name+"=x", nil)
			if pr := checkQuery(r, rt.query); pr != nil {
				t.Errorf("%s refuses %q, which the document declares: %s", rt.pattern, p.Name, pr.Detail)
			}
		}
	}
	res := f.do(get("qa-3", "/subjects/batch-1/state?model=batch&verison=2"))
	if p := res.problem(t); res.status != http.StatusBadRequest || p.Field != "verison" || !strings.Contains(p.Detail, "model, step, version") {
		t.Errorf("a misspelt version: %d %+v", res.status, p)
	}
	res = f.do(get("qa-3", "/subjects/batch-1/state?model=batch&model=step"))
	if p := res.problem(t); res.status != http.StatusBadRequest || p.Field != "model" || !strings.Contains(p.Detail, "given 2 times") {
		t.Errorf("model given twice: %d %+v", res.status, p)
	}
	if res = f.do(get("", "/subjects/batch-1/state?nope=1")); res.status != http.StatusUnauthorized {
		t.Errorf("an unauthenticated caller with a bad parameter: %d, want 401", res.status)
	}
	// An array parameter may be given more than once.
	if res = f.do(get("qa-3", "/audit/trail?actor=op-7&actor=qa-3")); res.status != http.StatusOK {
		t.Errorf("actor given twice on the audit trail: %d %s", res.status, res.body)
	}
}
