package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed openapi.json
var openapi []byte

// OpenAPI returns the OpenAPI 3.1 document of the handler's routes, the
// one GET /openapi.json serves: every route, request body, response body
// and status. Each call returns a new copy.
func OpenAPI() []byte {
	return append([]byte(nil), openapi...)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ string) *problem {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(openapi)
	return nil
}

// queryParam is a query parameter an operation declares.
type queryParam struct {
	Name  string
	Array bool // it may be given more than once
}

// queryParams returns, for each operationId of the document, the query
// parameters it declares: the only ones its route accepts.
var queryParams = sync.OnceValues(func() (map[Operation][]queryParam, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return nil, fmt.Errorf("httpapi: the OpenAPI document: %w", err)
	}
	type parameter struct {
		Name   string `json:"name"`
		In     string `json:"in"`
		Schema struct {
			Type string `json:"type"`
		} `json:"schema"`
	}
	out := map[Operation][]queryParam{}
	for path, item := range doc.Paths {
		var common []parameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &common); err != nil {
				return nil, fmt.Errorf("httpapi: the OpenAPI document: %s parameters: %w", path, err)
			}
		}
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				ID         string      `json:"operationId"`
				Parameters []parameter `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("httpapi: the OpenAPI document: %s %s: %w", method, path, err)
			}
			params := []queryParam{}
			for _, p := range append(slices.Clone(common), op.Parameters...) {
				if p.In == "query" {
					params = append(params, queryParam{Name: p.Name, Array: p.Schema.Type == "array"})
				}
			}
			sort.Slice(params, func(i, j int) bool { return params[i].Name < params[j].Name })
			out[Operation(op.ID)] = params
		}
	}
	return out, nil
})

// checkQuery refuses a query parameter the operation does not declare (a
// misspelt "verison" would otherwise be ignored, and the answer be about
// the latest version), and one given more than once.
func checkQuery(r *http.Request, allowed []queryParam) *problem {
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		i := slices.IndexFunc(allowed, func(p queryParam) bool { return p.Name == name })
		switch {
		case i < 0:
			if len(allowed) == 0 {
				return invalid(name, "unknown query parameter %q: this route takes none", name)
			}
			takes := make([]string, len(allowed))
			for j, p := range allowed {
				takes[j] = p.Name
			}
			return invalid(name, "unknown query parameter %q: this route takes %s", name, strings.Join(takes, ", "))
		case len(q[name]) > 1 && !allowed[i].Array:
			return invalid(name, "query parameter %q is given %d times; give it once", name, len(q[name]))
		}
	}
	return nil
}
