package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage"
)

// TestAuditTrail reads the audit trail of a batch run through the front
// door, by stream and by position, in pages, and through the audit trail
// query as JSON and CSV, on the memory store and on Postgres: every page
// is the store's own records, hashes and all, and no read writes.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) {
		f := newFixture(t, s, clock)
		batchRun(t, f)
		ctx := context.Background()
		before := f.heads()
		stream, err := f.env.Store.Load(ctx, "batch-B1", 1)
		if err != nil {
			t.Fatal(err)
		}
		all, err := f.env.Store.ReadAll(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("subject in pages", func(t *testing.T) {
			var got []auditRecord
			from := int64(1)
			for pages := 0; ; pages++ {
				var page subjectRecordsBody
				res := f.do(get("qa-3", fmt.Sprintf("/subjects/batch-B1/records?from=%d&limit=2", from)))
				if res.status != http.StatusOK {
					t.Fatalf("= %d %s", res.status, res.body)
				}
				res.decode(t, &page)
				if page.Subject != "batch-B1" || len(page.Records) > 2 {
					t.Fatalf("page = %+v", page)
				}
				got = append(got, page.Records...)
				if page.Next == 0 {
					break
				}
				from = page.Next
			}
			if d := cmp.Diff(auditRecords(stream), got); d != "" {
				t.Errorf("pages (-store +served):\n%s", d)
			}
			for i := 1; i < len(got); i++ {
				if got[i].PrevHash != got[i-1].Hash {
					t.Errorf("record %d: prev_hash %s, the hash before it %s", got[i].Version, got[i].PrevHash, got[i-1].Hash)
				}
			}
		})

		t.Run("whole record by position", func(t *testing.T) {
			var got []auditRecord
			after := int64(0)
			for {
				var page recordsBody
				res := f.do(get("qa-3", fmt.Sprintf("/records?after=%d&limit=7", after)))
				if res.status != http.StatusOK {
					t.Fatalf("= %d %s", res.status, res.body)
				}
				res.decode(t, &page)
				got = append(got, page.Records...)
				if page.Next == 0 {
					break
				}
				after = page.Next
			}
			if d := cmp.Diff(auditRecords(all), got); d != "" {
				t.Errorf("pages (-store +served):\n%s", d)
			}
			// A range of positions, which need not be consecutive: the
			// fourth record to the ninth.
			var page recordsBody
			path := fmt.Sprintf("/records?after=%d&through=%d", all[2].Position, all[8].Position)
			f.do(get("qa-3", path)).decode(t, &page)
			if d := cmp.Diff(auditRecords(all[3:9]), page.Records); d != "" || page.Next != 0 {
				t.Errorf("%s (-want +got), next %d:\n%s", path, page.Next, d)
			}
		})

		t.Run("trail query", func(t *testing.T) {
			var trail trailBody
			res := f.do(get("qa-3", "/audit/trail?subject=batch-*&actor=op-7&actor=qa-3"))
			if res.status != http.StatusOK {
				t.Fatalf("= %d %s", res.status, res.body)
			}
			res.decode(t, &trail)
			var want []audit.Record
			for _, r := range all {
				if strings.HasPrefix(r.Stream, "batch-") && (r.Actor == "op-7" || r.Actor == "qa-3") {
					want = append(want, r)
				}
			}
			if len(want) == 0 {
				t.Fatal("the run has no records the query selects; the test proves nothing")
			}
			if d := cmp.Diff(auditRecords(want), trail.Records); d != "" {
				t.Errorf("trail (-want +got):\n%s", d)
			}
			if trail.Query.Through != all[len(all)-1].Position {
				t.Errorf("through = %d; want the last position %d", trail.Query.Through, all[len(all)-1].Position)
			}

			// The same query as CSV, by parameter and by Accept.
			tr, err := review.Find(ctx, f.env.Store, trail.Query)
			if err != nil {
				t.Fatal(err)
			}
			wantCSV, _, err := tr.CSV()
			if err != nil {
				t.Fatal(err)
			}
			q := "subject=batch-*&actor=op-7&actor=qa-3&through=" + fmt.Sprint(trail.Query.Through)
			for _, c := range []call{get("qa-3", "/audit/trail?format=csv&"+q),
				{method: http.MethodGet, path: "/audit/trail?" + q, actor: "qa-3", accept: "text/csv"}} {
				res := f.do(c)
				if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
					t.Fatalf("%s = %d %s", c.path, res.status, res.header.Get("Content-Type"))
				}
				if d := cmp.Diff(string(wantCSV), string(res.body)); d != "" {
					t.Errorf("%s csv (-review.WriteCSV +served):\n%s", c.path, d)
				}
				if _, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll(); err != nil {
					t.Errorf("csv: %v", err)
				}
			}
		})

		t.Run("bad queries", func(t *testing.T) {
			for _, c := range []struct{ path, field string }{
				{"/subjects/batch-B1/records?from=0", "from"},
				{"/subjects/batch-B1/records?limit=1001", "limit"},
				{"/subjects/batch-B1/records?limit=x", "limit"},
				{"/records?after=-1", "after"},
				{"/records?after=5&through=5", "through"},
				{"/audit/trail?subject=a*b", "subject"},
				{"/audit/trail?actor=", "actor"},
				{"/audit/trail?subject=batch-B1&subject=b*c*", "subject"},
				{"/audit/trail?since=yesterday", "since"},
				{"/audit/trail?since=2026-11-26T00:00:00Z&until=2026-11-25T00:00:00Z", "until"},
				{"/audit/trail?through=0", "through"},
				{"/audit/trail?format=xml", "format"},
			} {
				res := f.do(get("qa-3", c.path))
				if p := res.problem(t); res.status != http.StatusBadRequest || p.Type != TypeInvalid || p.Field != c.field {
					t.Errorf("%s = %d %+v; want 400 naming %s", c.path, res.status, p, c.field)
				}
			}
			res := f.do(get("qa-3", "/subjects/batch-NONE/records"))
			if p := res.problem(t); res.status != http.StatusNotFound || p.Field != "subject" {
				t.Errorf("a subject without records = %d %+v; want 404", res.status, p)
			}
		})

		if d := cmp.Diff(before, f.heads()); d != "" {
			t.Errorf("a read wrote (-before +after):\n%s", d)
		}
	})
}

// TestAuditReview signs off a review of the audit trail through the
// front door: the reviewer re-authenticates, the review is recorded by
// the engine with the digest of the CSV the trail query exports, the same
// key replays it, and a wrong secret is denied and on the record.
func TestAuditReview(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) {
		f := newFixture(t, s, clock)
		batchRun(t, f)
		ctx := context.Background()
		auditModel := mestest.Must[*mes.Model](t)(review.AuditModel("qa"))
		reg := mestest.Must[*mes.Registry](t)(mes.NewRegistry(mestest.Must[*mes.Model](t)(lifecycle.Batch()), auditModel))
		h := f.with(func(c *Config) { c.Models = reg })
		body := func(user, sec string) string {
			return `{"query":{"subjects":["batch-B1"]},"comment":"weekly review","sign":{"user":"` + user + `","secret":"` + sec + `","reason":"trail reviewed"}}`
		}

		t.Run("signed", func(t *testing.T) {
			res := do(t, h, call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "week-48", body: body("qa-3", secret)})
			if res.status != http.StatusOK {
				t.Fatalf("= %d %s", res.status, res.body)
			}
			var out signedReviewBody
			res.decode(t, &out)
			if out.Review != review.AuditStream("week-48") || !out.Outcome.Allowed || out.Records == 0 || out.Query.Through == 0 {
				t.Fatalf("= %+v", out)
			}
			if len(out.Outcome.Signatures) != 1 || out.Outcome.Signatures[0].SignerID != "qa-3" || out.Outcome.Signatures[0].Meaning != "reviewed" {
				t.Errorf("signatures = %+v; want qa-3's, meaning reviewed", out.Outcome.Signatures)
			}
			// The recorded review proves the trail as the query exports it.
			recs, err := f.env.Store.Load(ctx, review.AuditStream("week-48"), 1)
			if err != nil || len(recs) == 0 {
				t.Fatalf("the review's stream: %v, %d records", err, len(recs))
			}
			tr, err := review.CheckAuditReview(ctx, f.env.Store, recs[0])
			if err != nil {
				t.Fatalf("CheckAuditReview: %v", err)
			}
			if _, digest, _ := tr.CSV(); digest != out.Digest {
				t.Errorf("digest %s; the review's trail exports %s", out.Digest, digest)
			}
			// Again under the same key: the recorded review, nothing new.
			before := f.heads()
			again := do(t, h, call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "week-48", body: body("qa-3", secret)})
			var replay signedReviewBody
			again.decode(t, &replay)
			if again.status != http.StatusOK || !replay.Outcome.Replayed || replay.Digest != out.Digest {
				t.Errorf("replay = %d %+v; want the recorded review", again.status, replay)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("the replay wrote (-before +after):\n%s", d)
			}
		})

		t.Run("wrong secret", func(t *testing.T) {
			res := do(t, h, call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "week-49", body: body("qa-3", "wrong")})
			p := res.problem(t)
			if res.status != http.StatusUnprocessableEntity || p.Type != TypeDenied || len(p.Records) == 0 {
				t.Fatalf("= %d %+v; want 422 denied, on the record", res.status, p)
			}
		})

		t.Run("not QA", func(t *testing.T) {
			res := do(t, h, call{method: http.MethodPost, path: "/audit/reviews", actor: "sv-1", key: "week-50", body: body("sv-1", secret)})
			if p := res.problem(t); res.status != http.StatusUnprocessableEntity || p.Type != TypeDenied {
				t.Fatalf("= %d %+v; want 422: the model wants a QA signature", res.status, p)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			before := f.heads()
			for _, c := range []struct {
				call  call
				code  int
				field string
			}{
				{call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", body: body("qa-3", secret)}, 400, headerKey},
				{call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "k", body: `{"query":{"subjects":["batch-B1","a*b"]},"sign":{}}`}, 400, "query.subjects[1]"},
				{call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "k", body: `{"sign":{"meaning":"approved"}}`}, 400, "sign.meaning"},
				{call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "k", body: `{"actor":"qa-3","sign":{}}`}, 400, "actor"},
			} {
				res := do(t, h, c.call)
				if p := res.problem(t); res.status != c.code || p.Field != c.field {
					t.Errorf("%s = %d %+v; want %d naming %s", c.call.body, res.status, p, c.code, c.field)
				}
			}
			// A service whose registry has no audit review model.
			res := f.do(call{method: http.MethodPost, path: "/audit/reviews", actor: "qa-3", key: "k", body: body("qa-3", secret)})
			if p := res.problem(t); res.status != http.StatusNotFound || p.Type != TypeNotFound {
				t.Errorf("without the model = %d %+v; want 404", res.status, p)
			}
			if d := cmp.Diff(before, f.heads()); d != "" {
				t.Errorf("a refused review wrote (-before +after):\n%s", d)
			}
		})
		f.attested()
	})
}
