package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadInput: every malformed request gets a clear 4xx problem naming
// what is wrong, never a 5xx, and writes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	cmd := func(body string) call {
		return call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", body: body}
	}
	big := `{"model":"batch","command":"release","data":{"x":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}}`
	for _, c := range []struct {
		name   string
		call   call
		status int
		typ    string
		field  string
		header string // a header the answer must have
	}{
		{"not JSON", cmd(`{"model":`), 400, TypeInvalid, "", ""},
		{"garbage", cmd(`<xml/>`), 400, TypeInvalid, "", ""},
		{"empty body", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", contentType: "application/json"}, 400, TypeInvalid, "", ""},
		{"array body", cmd(`[1,2]`), 400, TypeInvalid, "", ""},
		{"trailing data", cmd(`{"model":"batch","command":"release"} {}`), 400, TypeInvalid, "", ""},
		{"trailing garbage", cmd(`{"model":"batch","command":"release"}x`), 400, TypeInvalid, "", ""},
		{"unknown member", cmd(`{"model":"batch","command":"release","raw":true}`), 400, TypeInvalid, "raw", ""},
		{"actor in the body", cmd(`{"model":"batch","command":"release","actor":"qa-3"}`), 400, TypeInvalid, "actor", ""},
		{"id in the body", cmd(`{"model":"batch","command":"release","id":"k-9"}`), 400, TypeInvalid, "id", ""},
		{"member in another case", cmd(`{"model":"batch","Command":"release"}`), 400, TypeInvalid, "Command", ""},
		{"nested member in another case", cmd(`{"model":"batch","command":"release","evidence":[{"Name":"w","source":"device"}]}`), 400, TypeInvalid, "evidence[0].Name", ""},
		{"member twice", cmd(`{"model":"batch","command":"release","command":"cancel"}`), 400, TypeInvalid, "command", ""},
		{"data member twice", cmd(`{"model":"batch","command":"release","data":{"a":{"b":1,"b":2}}}`), 400, TypeInvalid, "data.a.b", ""},
		{"wrong type", cmd(`{"model":"batch","command":7}`), 400, TypeInvalid, "command", ""},
		{"no model", cmd(`{"command":"release"}`), 400, TypeInvalid, "model", ""},
		{"no command", cmd(`{"model":"batch"}`), 400, TypeInvalid, "command", ""},
		{"negative version", cmd(`{"model":"batch","version":-1,"command":"release"}`), 400, TypeInvalid, "version", ""},
		{"unknown model", cmd(`{"model":"rocket","command":"launch"}`), 404, TypeNotFound, "model", ""},
		{"unknown version", cmd(`{"model":"batch","version":9,"command":"release"}`), 404, TypeNotFound, "model", ""},
		{"bad decimal", cmd(`{"model":"batch","command":"release","evidence":[{"name":"w","value":"12,5","source":"device"}]}`), 400, TypeInvalid, "evidence[0].value", ""},
		{"bad quantity", cmd(`{"model":"batch","command":"release","consume":[{"lot":"lot/L7","quantity":"lots","unit":"kg"}]}`), 400, TypeInvalid, "consume[0].quantity", ""},
		{"quantity out of range", cmd(`{"model":"batch","command":"release","consume":[{"lot":"L7","quantity":"1e999999999","unit":"kg"}]}`), 400, TypeInvalid, "consume[0].quantity", ""},
		{"value not a decimal", cmd(`{"model":"batch","command":"release","evidence":[{"name":"w","value":" 1","source":"device"}]}`), 400, TypeInvalid, "evidence[0].value", ""},
		{"bad time", cmd(`{"model":"batch","command":"release","produce":[{"lot":"FG","material":"m","quantity":"1","unit":"kg","expiry":"soon"}]}`), 400, TypeInvalid, "produce[0].expiry", ""},
		{"one-digit hour", cmd(`{"model":"batch","command":"release","produce":[{"lot":"FG","material":"m","quantity":"1","unit":"kg","expiry":"2027-01-01T0:00:00Z"}]}`), 400, TypeInvalid, "produce[0].expiry", ""},
		{"data not an object", cmd(`{"model":"batch","command":"release","data":[1]}`), 400, TypeInvalid, "data", ""},
		{"engine refuses the flow", cmd(`{"model":"batch","command":"release","consume":[{"lot":"lot/L7","quantity":"-1","unit":"kg"}]}`), 400, TypeInvalid, "consume", ""},
		{"no key", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", body: `{"model":"batch","command":"release"}`}, 400, TypeInvalid, headerKey, ""},
		{"too large", cmd(big), 413, TypeTooLarge, "", ""},
		{"key too long", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: strings.Repeat("k", MaxKeyBytes+1), body: `{"model":"batch","command":"release"}`}, 400, TypeInvalid, headerKey, ""},
		{"longest key", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: strings.Repeat("k", MaxKeyBytes), body: `{"model":"rocket","command":"launch"}`}, 404, TypeNotFound, "model", ""},
		{"subject too long", call{method: http.MethodPost, path: "/subjects/" + strings.Repeat("b", 600) + "/commands", actor: "sv-1", key: "k-1", body: `{"model":"batch","command":"release"}`}, 400, TypeInvalid, "subject", ""},
		{"actor too long", call{method: http.MethodPost, path: batchCommands, actor: strings.Repeat("a", 600), key: "k-1", body: `{"model":"batch","command":"release"}`}, 400, TypeInvalid, "", ""},
		{"no content type", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", body: `{}`, contentType: " "}, 415, TypeMediaType, "Content-Type", "Accept"},
		{"text", call{method: http.MethodPost, path: batchCommands, actor: "sv-1", key: "k-1", body: `{}`, contentType: "text/plain"}, 415, TypeMediaType, "Content-Type", "Accept"},
		{"form", call{method: http.MethodPost, path: "/dispatch", actor: "sv-1", body: `subjects=x`, contentType: "application/x-www-form-urlencoded"}, 415, TypeMediaType, "Content-Type", "Accept"},
		{"wrong method", call{method: http.MethodGet, path: batchCommands, actor: "sv-1"}, 405, TypeMethod, "", "Allow"},
		{"wrong method on a read", call{method: http.MethodDelete, path: "/verification", actor: "sv-1"}, 405, TypeMethod, "", "Allow"},
		{"no route", call{method: http.MethodGet, path: "/streams", actor: "sv-1"}, 404, TypeNotFound, "", ""},
		{"no route without credentials", call{method: http.MethodPost, path: "/streams/x/append", body: `{}`}, 404, TypeNotFound, "", ""},
		{"bad instant", call{method: http.MethodGet, path: "/subjects/batch-B1/state?model=batch&at=yesterday", actor: "sv-1"}, 400, TypeInvalid, "at", ""},
		{"bad version", call{method: http.MethodGet, path: "/subjects/batch-B1/state?model=batch&version=one", actor: "sv-1"}, 400, TypeInvalid, "version", ""},
		{"state without model", call{method: http.MethodGet, path: "/subjects/batch-B1/state", actor: "sv-1"}, 400, TypeInvalid, "model", ""},
		{"check at a bad instant", call{method: http.MethodPost, path: "/subjects/batch-B1/checks?at=2026-13-01", actor: "sv-1", body: `{"model":"batch","command":"release"}`}, 400, TypeInvalid, "at", ""},
		{"dispatch of nothing", call{method: http.MethodPost, path: "/dispatch", actor: "sv-1", body: `{"subjects":[]}`}, 400, TypeInvalid, "subjects", ""},
		{"dispatch without subject", call{method: http.MethodPost, path: "/dispatch", actor: "sv-1", body: `{"subjects":[{"model":"batch"}]}`}, 400, TypeInvalid, "subjects[0].subject", ""},
		{"dispatch of an unknown model", call{method: http.MethodPost, path: "/dispatch", actor: "sv-1", body: `{"subjects":[{"subject":"b","model":"rocket"}]}`}, 404, TypeNotFound, "subjects[0].model", ""},
		{"bad depth", call{method: http.MethodGet, path: "/genealogy/lot%2FL7/forward?depth=0", actor: "sv-1"}, 400, TypeInvalid, "depth", ""},
		{"bad direction", call{method: http.MethodGet, path: "/genealogy/lot%2FL7/epcis?direction=up", actor: "sv-1"}, 400, TypeInvalid, "direction", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := f.heads()
			res := f.do(c.call)
			p := res.problem(t)
			if res.status != c.status || p.Status != c.status || p.Type != c.typ || p.Field != c.field {
				t.Errorf("= %d %+v; want %d %s field %q", res.status, p, c.status, c.typ, c.field)
			}
			if c.header != "" && res.header.Get(c.header) == "" {
				t.Errorf("no %s header", c.header)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("a refused request wrote (-before +after):\n%s", d)
			}
		})
	}
}

// TestDispatchBounded: a dispatch query over more subjects than the limit
// is refused before anything is read.
func TestDispatchBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	subjects := strings.Repeat(`{"subject":"b","model":"batch"},`, DefaultMaxSubjects)
	res := f.do(call{method: http.MethodPost, path: "/dispatch", actor: "op-7", body: `{"subjects":[` + subjects + `{"subject":"b","model":"batch"}]}`})
	if p := res.problem(t); res.status != http.StatusBadRequest || p.Field != "subjects" {
		t.Errorf("= %d %+v; want 400 naming subjects", res.status, p)
	}
}
