package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzCommand sends arbitrary bodies, as any of the plant's people, to the
// command route of an arbitrary subject, and then the same body under the
// same key to a second subject: whatever comes, every answer is a
// documented one below 500, and nothing panics.
func FuzzCommand(f *testing.F) {
	for _, seed := range []struct {
		actor   uint8
		subject string
		body    string
	}{
		{0, "batch-B1", `{"model":"batch","command":"release"}`},
		{1, "batch-B1", `{"model":"batch","command":"start","consume":[{"lot":"L7","quantity":"12.5","unit":"kg"}]}`},
		{1, "batch-B1", `{"model":"batch","command":"complete","produce":[{"lot":"FG-1","material":"m","quantity":"1e3","unit":"kg","expiry":"2027-01-01T00:00:00Z"}]}`},
		{2, "batch-B1", `{"model":"batch","command":"verify","signatures":[{"meaning":"verified","user":"qa-3","secret":"x"}]}`},
		{2, "lot/L7", `{"model":"lot","command":"hold","data":{"reason":"x"},"override":{"reason":"r","sign":{"secret":"s","session":"abc"}}}`},
		{0, "lot/NEW", `{"model":"lot","version":1,"command":"receive","data":{"material":"m","quantity":"1","unit":"kg"},"declare":{"kind":"lot","identity_source":"scanner","supplier":"a","supplier_lot":"b"}}`},
		{1, "batch-B1", `{"model":"batch","step":"S10","command":"start","refs":{"scale":"SC-01"},"evidence":[{"name":"w","value":"-0.0001","unit":"kg","source":"device","instrument":"SC-01","stable":true}]}`},
		{0, "x", `{"model":"person","command":"grant-role","data":{"role":"qa"}}`},
		{0, "batch-B1", `{"model":"batch","command":"release"}{"model":"batch"}`},
		{0, "batch-B1", `{"model":"batch","command":"release","data":{"a":1e999}}`},
		{0, "batch-B1", "{\"model\":\"batch\",\"command\":\"\xff\"}"},
		{0, "batch-B1", `null`},
		{0, "", `{}`},
	} {
		f.Add(seed.actor, seed.subject, seed.subject, []byte(seed.body))
		f.Add(seed.actor, seed.subject, "batch-B2", []byte(seed.body))
	}
	actors := []string{"sv-1", "op-7", "qa-3", "nobody"}
	f.Fuzz(func(t *testing.T, actor uint8, subject, second string, body []byte) {
		fx := newFixture(t, nil, nil)
		req := call{method: http.MethodPost, path: "/subjects/" + url.PathEscape(subject) + "/commands",
			actor: actors[int(actor)%len(actors)], key: "fuzz-1", body: string(body), contentType: "application/json"}
		res := fx.do(req)
		if res.status >= 500 {
			t.Fatalf("%s %q = %d %s", req.actor, body, res.status, res.body)
		}
		if res.status == http.StatusOK {
			// An allowed command sent again is replayed, never run twice.
			again := fx.do(req)
			if again.status != http.StatusOK {
				t.Fatalf("the same command again = %d %s", again.status, again.body)
			}
		}
		req.path = "/subjects/" + url.PathEscape(second) + "/commands"
		if res := fx.do(req); res.status >= 500 {
			t.Fatalf("the same key on %q = %d %s", second, res.status, res.body)
		}
		fx.attested()
	})
}

// FuzzRange reads arbitrary bounds of an EPCIS date range: whatever
// comes, it is refused with a problem naming from or to, or it is a
// range whose start is before its end and whose bounds read back.
func FuzzRange(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-11-25", "2026-11-26"},
		{"2026-11-25T09:00:00Z", "2026-11-25T10:00:00.5+01:00"},
		{"2026-02-30", "2026-03-01"},
		{"", "2026-11-26"},
		{"2026-11-26", "2026-11-25"},
		{"9999-12-31T23:59:59Z", "0000-01-01"},
		{"2026-11-25t09:00:00z", "2026-11-25T9:00:00Z"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		a, b, p := parseRange(from, to)
		if p != nil {
			if p.Status != http.StatusBadRequest || (p.Field != "from" && p.Field != "to") || p.Detail == "" {
				t.Fatalf("(%q, %q): %+v", from, to, p)
			}
			return
		}
		if !a.Before(b) {
			t.Fatalf("(%q, %q) = [%s, %s): not a range", from, to, a, b)
		}
	})
}

// FuzzQuery sends arbitrary query strings and Accept headers to every
// read of the audit trail and to the exports: every answer is a documented one below 500
// (the document check of do), and nothing panics or writes.
func FuzzQuery(f *testing.F) {
	for _, s := range []struct {
		route         uint8
		query, accept string
	}{
		{0, "from=1&limit=2", ""},
		{1, "after=3&through=9&limit=1000", "application/json"},
		{2, "subject=batch-*&actor=op-7&since=2026-11-25T09:00:00Z&until=2026-11-26T00:00:00Z&format=csv", ""},
		{2, "subject=*&type=&through=-1", "text/csv;q=0, */*"},
		{3, "format=fsma204&cte=shipping&direction=backward&depth=3", ""},
		{3, "", "text/vnd.graphviz;q=0.5, application/ld+json"},
		{4, "from=2026-11-25&to=2026-11-26", ";;,,=text/csv"},
		{4, "from=2026-11-25T09:00:00Z&to=%zz", ""},
	} {
		f.Add(s.route, s.query, s.accept)
	}
	routes := []string{"/subjects/batch-B1/records", "/records", "/audit/trail", "/genealogy/lot%2FL7/export", "/genealogy/epcis"}
	fx := newFixture(f, nil, nil)
	before := fx.heads()
	f.Fuzz(func(t *testing.T, route uint8, query, accept string) {
		path := routes[int(route)%len(routes)] + "?" + query
		// Only what a client can send: httptest panics on a request
		// line that net/http would not read.
		if _, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + path + " HTTP/1.0\r\n\r\n"))); err != nil {
			t.Skip()
		}
		if strings.ContainsAny(accept, "\r\n\x00") {
			t.Skip()
		}
		res := do(t, fx.h, call{method: http.MethodGet, path: path, actor: "qa-3", accept: accept})
		if res.status >= 500 {
			t.Fatalf("%s = %d %s", path, res.status, res.body)
		}
		now, err := fx.env.Store.Heads(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(before, now); d != "" {
			t.Fatalf("%s wrote (-before +after):\n%s", path, d)
		}
	})
}
