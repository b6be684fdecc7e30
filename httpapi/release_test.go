package httpapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/mes/release"
	"github.com/interlock-mes/interlock/storage"
)

// TestBatchRelease releases a batch through the command route with the
// batch release model (mes/release) in the registry: QA's signature
// re-authenticates, a signature by someone who took part in the batch, by
// someone without the QA role, or with a wrong secret is denied by the
// engine and on the record, and the release is recorded once.
func TestBatchRelease(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) {
		f := newFixture(t, s, clock)
		rel := mestest.Must[*mes.Model](t)(release.Model(&release.Config{Key: f.pub}, []string{"qa"}))
		reg := mestest.Must[*mes.Registry](t)(mes.NewRegistry(mestest.Must[*mes.Model](t)(lifecycle.Batch()), rel))
		h := f.with(func(c *Config) { c.Models = reg })
		const path = "/subjects/batch-B2/commands"
		for i, step := range []struct{ actor, body string }{
			{"sv-1", `{"model":"batch","command":"release"}`},
			{"op-7", `{"model":"batch","command":"start","consume":[{"lot":"L7","quantity":"10","unit":"kg"}]}`},
			{"op-7", `{"model":"batch","command":"complete","produce":[{"lot":"FG-2","material":"TAB-10","quantity":"9","unit":"kg"}]}`},
		} {
			clock.Set(mestest.Now.Add(time.Duration(i+1) * time.Minute))
			if res := do(t, h, call{method: http.MethodPost, path: path, actor: step.actor, key: fmt.Sprint("b2-", i), body: step.body}); res.status != http.StatusOK {
				t.Fatalf("%s = %d %s", step.body, res.status, res.body)
			}
		}
		// Before anyone signs, the dry run judges a would-be signer: the
		// operator who made the batch may not, QA may.
		const check = "/subjects/batch-B2/checks"
		for _, c := range []struct {
			signer string
			want   gate.Code
		}{{"op-7", mes.CodeSignatureSelf}, {"sv-1", mes.CodeSignatureRole}, {"qa-3", ""}} {
			res := do(t, h, call{method: http.MethodPost, path: check + "?signer=" + c.signer, actor: "qa-3",
				body: `{"model":"batch-release","command":"release"}`})
			var v verdictBody
			res.decode(t, &v)
			has := false
			for _, r := range v.Reasons {
				has = has || r.Code == string(c.want)
			}
			if res.status != http.StatusOK || v.Allowed != (c.want == "") || (c.want != "" && !has) {
				t.Errorf("check with signer %s: %d %s; want %q", c.signer, res.status, res.body, c.want)
			}
		}
		for _, q := range []string{"?signer=", "?signer=qa-3&at=2026-01-01T00:00:00Z"} {
			if res := do(t, h, call{method: http.MethodPost, path: check + q, actor: "qa-3", body: `{"model":"batch-release","command":"release"}`}); res.status != http.StatusBadRequest {
				t.Errorf("check%s: %d %s, want 400", q, res.status, res.body)
			}
		}
		sign := func(user, sec string) string {
			return `{"model":"batch-release","command":"release","signatures":[{"meaning":"approved","user":"` + user + `","secret":"` + sec + `","reason":"batch record reviewed"}]}`
		}
		for _, c := range []struct {
			name, actor, body string
		}{
			{"wrong secret", "qa-3", sign("qa-3", "wrong")},
			{"supervisor, not QA, who released the batch to the floor", "sv-1", sign("sv-1", secret)},
			{"operator who made it", "op-7", sign("op-7", secret)},
		} {
			res := do(t, h, call{method: http.MethodPost, path: path, actor: c.actor, key: "rel-" + c.name, body: c.body})
			if p := res.problem(t); res.status != http.StatusUnprocessableEntity || p.Type != TypeDenied || len(p.Records) == 0 {
				t.Errorf("%s: = %d %+v; want 422 denied, on the record", c.name, res.status, p)
			}
		}
		res := do(t, h, call{method: http.MethodPost, path: path, actor: "qa-3", key: "rel-ok", body: sign("qa-3", secret)})
		if res.status != http.StatusOK {
			t.Fatalf("release by QA = %d %s", res.status, res.body)
		}
		var out outcomeBody
		res.decode(t, &out)
		if !out.Allowed || out.To != "released" || len(out.Signatures) != 1 || out.Signatures[0].SignerID != "qa-3" || out.Signatures[0].Meaning != "approved" {
			t.Errorf("release = %+v; want released, signed by qa-3 meaning approved", out)
		}
		before := f.heads()
		again := do(t, h, call{method: http.MethodPost, path: path, actor: "qa-3", key: "rel-ok", body: sign("qa-3", secret)})
		if again.status != http.StatusOK {
			t.Errorf("the release again = %d %s", again.status, again.body)
		}
		if d := cmp.Diff(before, f.heads()); d != "" {
			t.Errorf("the release sent again wrote (-before +after):\n%s", d)
		}
		f.attested()
	})
}
