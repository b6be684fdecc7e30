package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestExport exports the trace of a batch run through the front door as
// CSV, DOT, EPCIS and FSMA 204, chosen by the format parameter or by
// Accept, and the EPCIS events of a date range, on the memory store and
// on Postgres: each is what the genealogy package's exporter writes.
func TestExport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) {
		f := newFixture(t, s, clock)
		batchRun(t, f)
		ctx := context.Background()
		g := f.h.cfg.Graph
		if err := g.Update(ctx); err != nil {
			t.Fatal(err)
		}
		x, err := genealogy.NewExporter(g, f.h.cfg.Export)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := g.Trace(ctx, genealogy.TraceRequest{From: []string{"lot/L7"}, Direction: storage.Forward, MaxDepth: genealogy.DefaultDepth})
		if err != nil {
			t.Fatal(err)
		}
		wantCSV, err := x.CSV(tr)
		if err != nil {
			t.Fatal(err)
		}
		wantEPCIS, err := x.EPCIS(tr)
		if err != nil {
			t.Fatal(err)
		}
		wantShipping, err := x.FSMA204(tr, genealogy.CTETransformation)
		if err != nil {
			t.Fatal(err)
		}
		before := f.heads()
		for _, c := range []struct {
			name   string
			call   call
			ctype  string
			want   []byte
			substr string
		}{
			{"csv by default", get("qa-3", "/genealogy/lot%2FL7/export"), "text/csv", wantCSV, "lot/L7"},
			{"csv", get("qa-3", "/genealogy/lot%2FL7/export?format=csv"), "text/csv", wantCSV, "lot/L7"},
			{"dot", get("qa-3", "/genealogy/lot%2FL7/export?format=dot"), "text/vnd.graphviz", x.DOT(tr), "digraph"},
			{"dot by Accept", call{method: http.MethodGet, path: "/genealogy/lot%2FL7/export", actor: "qa-3", accept: "text/html, text/vnd.graphviz;q=0.9"},
				"text/vnd.graphviz", x.DOT(tr), "digraph"},
			{"epcis", get("qa-3", "/genealogy/lot%2FL7/export?format=epcis"), "application/ld+json", wantEPCIS, "EPCISDocument"},
			{"fsma204", get("qa-3", "/genealogy/lot%2FL7/export?format=fsma204&cte=transformation"), "text/csv", wantShipping, "batch-B1"},
		} {
			res := f.do(c.call)
			if res.status != http.StatusOK {
				t.Errorf("%s: = %d %s", c.name, res.status, res.body)
				continue
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) || res.header.Get("Content-Disposition") == "" {
				t.Errorf("%s: Content-Type %q, Content-Disposition %q; want %s as a download", c.name, ct, res.header.Get("Content-Disposition"), c.ctype)
			}
			if d := cmp.Diff(string(c.want), string(res.body)); d != "" {
				t.Errorf("%s (-exporter +served):\n%s", c.name, d)
			}
			if !strings.Contains(string(res.body), c.substr) {
				t.Errorf("%s: no %q in\n%s", c.name, c.substr, res.body)
			}
		}

		t.Run("epcis range", func(t *testing.T) {
			from, to := mestest.Now, mestest.Now.Add(time.Hour)
			want, err := x.EPCISRange(from, to)
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{
				"/genealogy/epcis?from=2026-11-25T09:00:00Z&to=2026-11-25T10:00:00Z",
			} {
				res := f.do(get("qa-3", path))
				if res.status != http.StatusOK {
					t.Fatalf("%s = %d %s", path, res.status, res.body)
				}
				if d := cmp.Diff(string(want), string(res.body)); d != "" {
					t.Errorf("%s (-exporter +served):\n%s", path, d)
				}
				if n := epcisEvents(t, res.body); n == 0 {
					t.Errorf("%s: no events; the run is in the range", path)
				}
			}
			// A date means its midnight UTC; the run is on the 25th.
			res := f.do(get("qa-3", "/genealogy/epcis?from=2026-11-25&to=2026-11-26"))
			if res.status != http.StatusOK || epcisEvents(t, res.body) == 0 {
				t.Errorf("the 25th = %d, want its events", res.status)
			}
			res = f.do(get("qa-3", "/genealogy/epcis?from=2026-11-26&to=2026-11-27"))
			if res.status != http.StatusOK || epcisEvents(t, res.body) != 0 {
				t.Errorf("the 26th = %d %s, want no events", res.status, res.body)
			}
			if mestest.Now.Format(time.DateOnly) != "2026-11-25" || mestest.Now.Hour() != 9 {
				t.Fatalf("mestest.Now is %s; the paths above assume 2026-11-25T09:00Z", mestest.Now)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			for _, c := range []struct {
				path, field string
				status      int
			}{
				{"/genealogy/lot%2FL7/export?format=pdf", "format", 400},
				{"/genealogy/lot%2FL7/export?format=fsma204", "cte", 400},
				{"/genealogy/lot%2FL7/export?format=fsma204&cte=growing", "cte", 400},
				{"/genealogy/lot%2FL7/export?format=csv&cte=shipping", "cte", 400},
				{"/genealogy/lot%2FL7/export?direction=up", "direction", 400},
				{"/genealogy/lot%2FL7/export?depth=0", "depth", 400},
				{"/genealogy/lot%2FNONE/export", "node", 404},
				{"/genealogy/epcis", "from", 400},
				{"/genealogy/epcis?from=2026-11-25", "to", 400},
				{"/genealogy/epcis?from=yesterday&to=2026-11-25", "from", 400},
				{"/genealogy/epcis?from=2026-11-25&to=2026-13-01", "to", 400},
				{"/genealogy/epcis?from=2026-02-30&to=2026-03-01", "from", 400},
				{"/genealogy/epcis?from=2026-11-25&to=2026-11-25", "to", 400},
				{"/genealogy/epcis?from=2026-11-26&to=2026-11-25T00:00:00Z", "to", 400},
			} {
				res := f.do(get("qa-3", c.path))
				if p := res.problem(t); res.status != c.status || p.Field != c.field {
					t.Errorf("%s = %d %+v; want %d naming %s", c.path, res.status, p, c.status, c.field)
				}
			}
		})
		if d := cmp.Diff(before, f.heads()); d != "" {
			t.Errorf("an export wrote (-before +after):\n%s", d)
		}
	})
}

// epcisEvents counts the events of an EPCIS document.
func epcisEvents(t *testing.T, doc []byte) int {
	t.Helper()
	var d struct {
		Body struct {
			List []json.RawMessage `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("not an EPCIS document: %v", err)
	}
	return len(d.Body.List)
}
