package httpapi

import (
	"net/http"
	"net/url"
	"testing"
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
