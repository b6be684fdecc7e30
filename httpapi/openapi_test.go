package httpapi

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestRoutesMatchDocument fails when the handler has a route the OpenAPI
// document lacks, or the document a path and method the handler does not
// serve.
func TestRoutesMatchDocument(t *testing.T) {
	f := newFixture(t, nil, nil)
	var served []string
	for _, rt := range f.h.routes {
		served = append(served, rt.pattern)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if d := cmp.Diff(documented, served); d != "" {
		t.Errorf("routes (-documented +served):\n%s", d)
	}
	if len(served) < 10 {
		t.Errorf("%d routes; the handler serves more", len(served))
	}
}

// TestDocumentCompiles compiles every schema the document names, so that
// a broken $ref fails here rather than in the first test that reaches it.
func TestDocumentCompiles(t *testing.T) {
	if err := loadDoc(); err != nil {
		t.Fatal(err)
	}
	schemasOf, _ := lookup("/components/schemas")
	for name := range schemasOf.(map[string]any) {
		if _, err := schemaAt("/components/schemas/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
}

// TestServesDocument: the document is served as it is kept, without
// authentication.
func TestServesDocument(t *testing.T) {
	f := newFixture(t, nil, nil)
	res := f.do(call{method: http.MethodGet, path: "/openapi.json"})
	if res.status != http.StatusOK || string(res.body) != string(openapi) {
		t.Errorf("GET /openapi.json = %d, %d bytes; want 200 and the embedded document", res.status, len(res.body))
	}
	var v struct {
		OpenAPI string `json:"openapi"`
	}
	res.decode(t, &v)
	if v.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", v.OpenAPI)
	}
}

// TestReviewSchemaHoldsEveryKind validates the review package's golden
// reports, which hold an exception of every kind, against the document's
// ReviewReport: the schema describes real reports, not only the small ones
// these tests make.
func TestReviewSchemaHoldsEveryKind(t *testing.T) {
	sch, err := schemaAt("/components/schemas/ReviewReport")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"clean.json", "exceptions.json"} {
		b, err := os.ReadFile(filepath.Join("..", "review", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestConformsCanFail: the check every test's answers go through rejects
// an answer the document does not describe, so its silence means
// something.
func TestConformsCanFail(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	for _, c := range []struct {
		name    string
		pattern string
		res     response
	}{
		{"undocumented status", "GET /verification", response{status: http.StatusTeapot, header: problem, body: []byte(`{"type":"x","title":"x","status":418}`)}},
		{"undocumented member", "GET /subjects/{subject}/state", response{status: 200, header: json,
			body: []byte(`{"subject":"b","model":"batch","version":1,"state":"planned","actor":"x"}`)}},
		{"missing member", "GET /subjects/{subject}/state", response{status: 200, header: json, body: []byte(`{"subject":"b","model":"batch","version":1}`)}},
		{"wrong content type", "GET /subjects/{subject}/state", response{status: 400, header: json, body: []byte(`{"type":"x","title":"x","status":400}`)}},
		{"503 without Retry-After", "POST /subjects/{subject}/commands", response{status: 503, header: problem, body: []byte(`{"type":"x","title":"x","status":503}`)}},
		{"not a time", "GET /subjects/{subject}/state", response{status: 200, header: json,
			body: []byte(`{"subject":"b","model":"batch","version":1,"state":"planned","at":"yesterday"}`)}},
		{"405 without Allow", "", response{status: 405, header: problem, body: []byte(`{"type":"x","title":"x","status":405}`)}},
	} {
		if err := conforms(c.pattern, &c.res); err == nil {
			t.Errorf("%s: conforms accepted it", c.name)
		}
	}
	ok := response{status: 200, header: json, body: []byte(`{"subject":"b","model":"batch","version":1,"state":"planned"}`)}
	if err := conforms("GET /subjects/{subject}/state", &ok); err != nil {
		t.Errorf("a valid state: %v", err)
	}
}
