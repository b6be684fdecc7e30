package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// TestReleaseSharesNothing holds the pooled Prepared of one-event appends
// to what a store hands its callers: appends prepared, turned into
// records and released one after another (so that each reuses the last
// one's memory) give the same records as a Prepared never released, and
// the records an earlier append returned are not changed by any later
// Prepare, Records or Release, nor by the caller changing its request.
func TestReleaseSharesNothing(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		type kept struct {
			recs, want []audit.Record
		}
		var all []kept
		for i := range rapid.IntRange(1, 8).Draw(t, "appends") {
			var req storage.AppendRequest
			if rapid.IntRange(0, 3).Draw(t, "one") > 0 {
				ev := storage.Event{
					Type:     "step.completed",
					Actor:    rapid.SampledFrom([]string{"op-1", "op-2"}).Draw(t, "actor"),
					Payload:  json.RawMessage(fmt.Sprintf(`{"z":%d, "a":"%s"}`, i, rapid.StringMatching(`[a-z]{0,40}`).Draw(t, "text"))),
					Evidence: json.RawMessage(rapid.SampledFrom([]string{``, `null`, `[{"b":1,"a":2}]`}).Draw(t, "evidence")),
				}
				if rapid.Bool().Draw(t, "link") {
					ev.Links = []audit.Link{{From: "lot/L1", To: "batch-1", Kind: "consumed"}}
				}
				req = storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: fmt.Sprint("batch-", i), Events: []storage.Event{ev}}}}
			} else {
				req = genRequest(t)
			}
			p, err := Prepare(req)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Prepare(req) // the same, never released
			if err != nil {
				t.Fatal(err)
			}
			recs, want := p.Records(at), cloneRecs(q.Records(at))
			p.Release()
			// The caller changes its request's bytes after the append.
			for _, sa := range req.Streams {
				for _, ev := range sa.Events {
					clear(ev.Payload)
					clear(ev.Evidence)
					for k := range ev.Links {
						ev.Links[k].From = "changed"
					}
				}
			}
			all = append(all, kept{recs, want})
			for _, k := range all {
				if !sameRecords(k.recs, k.want) {
					t.Fatalf("records changed after later appends: %+v, want %+v", k.recs, k.want)
				}
			}
		}
	})
}

func cloneRecs(recs []audit.Record) []audit.Record {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Payload = bytes.Clone(out[i].Payload)
		out[i].Evidence = bytes.Clone(out[i].Evidence)
		out[i].Links = slices.Clone(out[i].Links)
	}
	return out
}

func sameRecords(a, b []audit.Record) bool {
	return slices.EqualFunc(a, b, func(x, y audit.Record) bool {
		return x.Stream == y.Stream && x.Version == y.Version && x.Type == y.Type && x.Actor == y.Actor &&
			x.Time.Equal(y.Time) && bytes.Equal(x.Payload, y.Payload) && bytes.Equal(x.Evidence, y.Evidence) &&
			slices.Equal(x.Links, y.Links)
	})
}
