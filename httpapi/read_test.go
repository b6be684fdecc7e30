package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage"
)

// batchRun takes batch-B1 through the front door: released by sv-1,
// started by op-7 consuming 12.5 kg of lot L7, a close by op-7 denied,
// completed by op-7 making 12 kg of lot FG-1, verified by qa-3 with a
// signature. Each command is a minute after the one before, from
// mestest.Now plus a minute.
func batchRun(t *testing.T, f *fixture) {
	t.Helper()
	steps := []struct {
		actor, body string
		status      int
	}{
		{"sv-1", `{"model":"batch","command":"release"}`, 200},
		{"op-7", `{"model":"batch","command":"start","consume":[{"lot":"L7","quantity":"12.5","unit":"kg"}],
			"evidence":[{"name":"lot-scan","identity":"L7","source":"scanner","instrument":"SCN-1"}]}`, 200},
		{"op-7", `{"model":"batch","command":"close"}`, 422},
		{"op-7", `{"model":"batch","command":"complete","produce":[{"lot":"FG-1","material":"TAB-10","quantity":"12","unit":"kg"}]}`, 200},
		{"qa-3", `{"model":"batch","command":"verify","signatures":[{"meaning":"verified","user":"qa-3","secret":"` + secret + `","reason":"record reviewed"}]}`, 200},
	}
	for i, s := range steps {
		f.env.Clock.Set(mestest.Now.Add(time.Duration(i+1) * time.Minute))
		res := f.do(call{method: http.MethodPost, path: batchCommands, actor: s.actor, key: "run-" + string(rune('a'+i)), body: s.body})
		if res.status != s.status {
			t.Fatalf("step %d = %d %s; want %d", i, res.status, res.body, s.status)
		}
		if i == 4 {
			var out outcomeBody
			res.decode(t, &out)
			if len(out.Signatures) != 1 || out.Signatures[0].SignerID != "qa-3" || out.Signatures[0].Meaning != "verified" || len(out.Sessions) != 1 {
				t.Errorf("verify outcome = %+v; want qa-3's signature meaning verified and its session", out)
			}
		}
	}
	f.env.Clock.Set(mestest.Now.Add(10 * time.Minute))
}

func get(actor, path string) call { return call{method: http.MethodGet, path: path, actor: actor} }

// TestReadSide asks the read side about a batch run through the front
// door, and checks that no read wrote anything.
func TestReadSide(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s storage.Store, clock *mestest.Clock) { readSide(t, newFixture(t, s, clock)) })
}

func readSide(t *testing.T, f *fixture) {
	batchRun(t, f)
	before := f.heads()
	at := func(d time.Duration) string { return url.QueryEscape(mestest.Now.Add(d).Format(time.RFC3339Nano)) }

	t.Run("state", func(t *testing.T) {
		for _, c := range []struct {
			query string
			want  string
		}{
			{"model=batch", "verified"},
			{"model=batch&version=1", "verified"},
			{"model=batch&at=" + at(150*time.Second), "in-progress"},
			{"model=batch&at=" + at(60*time.Second), "ready"},
		} {
			var s stateBody
			res := f.do(get("op-7", "/subjects/batch-B1/state?"+c.query))
			res.decode(t, &s)
			if res.status != 200 || s.State != c.want || s.Model != "batch" || s.Version != 1 {
				t.Errorf("state?%s = %d %+v; want %s", c.query, res.status, s, c.want)
			}
		}
		res := f.do(get("op-7", "/subjects/batch-B1/state?model=batch&at="+at(-time.Hour)))
		if p := res.problem(t); res.status != 404 || p.Type != TypeNotFound {
			t.Errorf("state before the first record = %d %+v; want 404", res.status, p)
		}
		res = f.do(get("op-7", "/subjects/batch-B404/state?model=batch"))
		if p := res.problem(t); res.status != 404 || p.Field != "subject" {
			t.Errorf("state of a subject without records = %d %+v; want 404 naming subject", res.status, p)
		}
		var s stateBody
		f.do(get("op-7", "/subjects/batch-B1/state?model=step&step=S10")).decode(t, &s)
		if s.State != "pending" || s.Step != "S10" {
			t.Errorf("state of a step not begun = %+v; want pending", s)
		}
		f.do(get("op-7", "/subjects/lot%2FL7/state?model=lot")).decode(t, &s)
		if s.Subject != "lot/L7" || s.State != "released" {
			t.Errorf("state of lot/L7 = %+v; want released (a percent-encoded subject)", s)
		}
	})

	t.Run("check", func(t *testing.T) {
		check := func(actor, query, body string) verdictBody {
			t.Helper()
			var v verdictBody
			res := f.do(call{method: http.MethodPost, path: "/subjects/batch-B1/checks" + query, actor: actor, body: body})
			res.decode(t, &v)
			if res.status != 200 {
				t.Fatalf("check = %d %s", res.status, res.body)
			}
			return v
		}
		v := check("qa-3", "", `{"model":"batch","command":"close"}`)
		if !v.Allowed || v.State != "verified" || v.To != "closed" || len(v.Reasons) != 0 {
			t.Errorf("qa-3 close = %+v; want allowed verified → closed", v)
		}
		v = check("op-7", "", `{"model":"batch","command":"close"}`)
		if v.Allowed || len(v.Reasons) == 0 || v.Reasons[0].Code != string(gate.CodeRoleMissing) {
			t.Errorf("op-7 close = %+v; want denied %s", v, gate.CodeRoleMissing)
		}
		v = check("op-7", "?at="+at(90*time.Second), `{"model":"batch","command":"start"}`)
		if !v.Allowed || v.State != "ready" || v.At == nil || !v.At.Equal(mestest.Now.Add(90*time.Second)) {
			t.Errorf("op-7 start as of 09:01:30 = %+v; want allowed from ready", v)
		}
		// Signatures given to a dry run are neither checked nor recorded.
		v = check("qa-3", "", `{"model":"batch","command":"close","signatures":[{"meaning":"approved","user":"qa-3","secret":"wrong"}]}`)
		if !v.Allowed {
			t.Errorf("qa-3 close with a signature = %+v; want allowed", v)
		}
		v = check("op-7", "", `{"model":"batch","command":"launch"}`)
		if v.Allowed || v.To != "" || !slices.Contains(v.Next, "close") {
			t.Errorf("launch = %+v; want not permitted, close among next", v)
		}
	})

	t.Run("dispatch", func(t *testing.T) {
		var d dispatchAnswer
		res := f.do(call{method: http.MethodPost, path: "/dispatch", actor: "qa-3",
			body: `{"subjects":[{"subject":"batch-B1","model":"batch"},{"subject":"batch-B2","model":"batch","version":1}]}`})
		res.decode(t, &d)
		if res.status != 200 || d.Actor != "qa-3" || len(d.Subjects) != 2 {
			t.Fatalf("dispatch = %d %s", res.status, res.body)
		}
		if got := d.Subjects[0]; got.State != "verified" || !slices.Contains(got.Allowed, "close") {
			t.Errorf("batch-B1 for qa-3 = %+v; want close allowed from verified", got)
		}
		if got := d.Subjects[1]; got.State != "planned" || slices.Contains(got.Allowed, "release") || len(got.Blocked) == 0 {
			t.Errorf("batch-B2 for qa-3 = %+v; want release blocked (a supervisor's) from planned", got)
		}
		for _, b := range d.Subjects[1].Blocked {
			if b.AwaitsInput {
				t.Errorf("batch-B2's %s, blocked by a role, is said to await input", b.Command)
			}
		}
	})

	t.Run("genealogy", func(t *testing.T) {
		var fw traceBody
		f.do(get("sv-1", "/genealogy/lot%2FL7/forward")).decode(t, &fw)
		type link struct{ From, To, Kind, Quantity string }
		var got []link
		for _, e := range fw.Edges {
			got = append(got, link{e.From, e.To, e.Kind, *e.Quantity + " " + e.Unit})
		}
		want := []link{{"lot/L7", "batch-B1", "consumed", "12.5 kg"}, {"batch-B1", "lot/FG-1", "produced", "12 kg"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("forward from lot/L7 (-want +got):\n%s", d)
		}
		if fw.Edges[0].Proof.Stream != "batch-B1" || fw.Edges[0].Proof.Version != 2 {
			t.Errorf("proof of consumption = %+v; want batch-B1 version 2", fw.Edges[0].Proof)
		}
		var bw traceBody
		f.do(get("sv-1", "/genealogy/lot%2FFG-1/backward?depth=1")).decode(t, &bw)
		if len(bw.Edges) != 1 || bw.Edges[0].From != "batch-B1" || bw.Direction != "backward" {
			t.Errorf("backward from lot/FG-1, depth 1 = %+v; want the production link only", bw.Edges)
		}
		var rc recallBody
		f.do(get("sv-1", "/genealogy/lot%2FL7/recall")).decode(t, &rc)
		if d := cmp.Diff([]string{"lot/FG-1"}, rc.InStock); d != "" || len(rc.Shipped) != 0 || len(rc.InProgress) != 0 {
			t.Errorf("recall of lot/L7 = %+v; want lot/FG-1 in stock only", rc)
		}
		res := f.do(get("sv-1", "/genealogy/lot%2FL7/epcis"))
		var doc struct {
			Type string `json:"type"`
			Body struct {
				EventList []map[string]any `json:"eventList"`
			} `json:"epcisBody"`
		}
		if err := json.Unmarshal(res.body, &doc); err != nil || res.header.Get("Content-Type") != "application/ld+json" {
			t.Fatalf("epcis = %s, %v; want an application/ld+json document", res.header.Get("Content-Type"), err)
		}
		if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
			t.Errorf("Content-Disposition = %q; want a download", cd)
		}
		if doc.Type != "EPCISDocument" || len(doc.Body.EventList) == 0 {
			t.Errorf("epcis = %s; want a document with the trace's events", res.body)
		}
		res = f.do(get("sv-1", "/genealogy/lot%2FNOPE/forward"))
		if p := res.problem(t); res.status != 404 || p.Field != "node" {
			t.Errorf("unknown node = %d %+v; want 404 naming node", res.status, p)
		}
	})

	t.Run("review", func(t *testing.T) {
		var rep review.Report
		res := f.do(get("qa-3", "/batches/batch-B1/review"))
		res.decode(t, &rep)
		if res.status != 200 || rep.Batch != "batch-B1" || !rep.Integrity.OK {
			t.Fatalf("review = %d %s", res.status, res.body)
		}
		if len(rep.Exceptions) != 1 || rep.Exceptions[0].Kind != review.KindDenied || rep.Exceptions[0].Record.Actor != "op-7" {
			t.Errorf("exceptions = %+v; want op-7's denied close", rep.Exceptions)
		}
		if len(rep.Signatures) != 1 || rep.Signatures[0].SignerID != "qa-3" || rep.Signatures[0].Status != review.StatusValid {
			t.Errorf("signatures = %+v; want qa-3's, valid", rep.Signatures)
		}
		res = f.do(get("qa-3", "/batches/batch-NOPE/review"))
		if p := res.problem(t); res.status != 404 || p.Type != TypeNotFound {
			t.Errorf("review of an unknown batch = %d %+v; want 404", res.status, p)
		}
	})

	t.Run("verification", func(t *testing.T) {
		var v verificationBody
		f.do(get("qa-3", "/verification")).decode(t, &v)
		if !v.OK || v.Records == 0 || v.Checkpoint != nil || !v.Attested || len(v.Breaks) != 0 {
			t.Errorf("verification = %+v; want ok, attested, no checkpoint yet", v)
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		for _, path := range []string{"/subjects/batch-B1/state?model=batch", "/genealogy/lot%2FL7/forward", "/batches/batch-B1/review", "/verification"} {
			if res := f.do(get("", path)); res.status != http.StatusUnauthorized {
				t.Errorf("%s without credentials = %d; want 401", path, res.status)
			}
		}
	})

	if d := cmp.Diff(before, f.heads()); d != "" {
		t.Errorf("the read side wrote (-before +after):\n%s", d)
	}
	f.attested()
}

// TestVerification verifies against the newest trusted checkpoint, and
// names the record written around the engine by stream and version.
func TestVerification(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	batchRun(t, f)
	cp, err := storage.Checkpoint(ctx, f.env.Store, f.cpKey, f.env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var v verificationBody
	f.do(get("qa-3", "/verification")).decode(t, &v)
	if !v.OK || v.Checkpoint == nil || !v.Checkpoint.Trusted || v.Checkpoint.Position != cp.Position {
		t.Fatalf("verification = %+v; want ok against the checkpoint at %d", v, cp.Position)
	}

	// A writer with the database's access, not the engine, appends to the
	// batch: the chain holds, the attestation does not.
	if _, err := f.env.Store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch-B1", ExpectedVersion: 6,
		Events: []storage.Event{{Type: event.Denied, Actor: "mallory", Payload: json.RawMessage(`{"command":"close"}`)}}}}}); err != nil {
		t.Fatal(err)
	}
	v = verificationBody{}
	f.do(get("qa-3", "/verification")).decode(t, &v)
	want := []breakBody{{Stream: "batch-B1", Version: 7, Kind: "unattested"}}
	if d := cmp.Diff(want, v.Breaks, cmp.Comparer(func(a, b breakBody) bool {
		return a.Stream == b.Stream && a.Version == b.Version && a.Kind == b.Kind
	})); d != "" || v.OK || v.Unattested != 1 || v.Failure == "" {
		t.Errorf("verification after a write around the engine = %+v; want not ok, the break (-want +got):\n%s", v, d)
	}
}

// TestConfiguredReads: the genealogy routes of a service without a
// graph, verification against a witness's checkpoint, and the failures
// that are the service's to fix.
func TestConfiguredReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	batchRun(t, f)

	t.Run("no graph", func(t *testing.T) {
		h := mestest.Must[*Handler](t)(New(f.env.Engine, f.env.Store, &Config{Authenticate: bearer, Models: f.h.cfg.Models}))
		res := do(t, h, get("sv-1", "/genealogy/lot%2FL7/forward"))
		if p := res.problem(t); res.status != http.StatusNotFound || p.Type != TypeNotFound {
			t.Errorf("= %d %+v; want 404", res.status, p)
		}
	})

	cp, err := storage.Checkpoint(ctx, f.env.Store, f.cpKey, f.env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("witness", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			witness func(context.Context) (*audit.Checkpoint, error)
			status  int
			want    *checkpointBody
		}{
			{"holds one", func(context.Context) (*audit.Checkpoint, error) { return cp, nil }, 200,
				&checkpointBody{Position: cp.Position, Time: cp.Time, KeyID: cp.KeyID, Trusted: true}},
			{"holds none", func(context.Context) (*audit.Checkpoint, error) { return nil, storage.ErrNotFound }, 200, nil},
			{"cannot be read", func(context.Context) (*audit.Checkpoint, error) { return nil, errors.New("witness unreachable") }, 500, nil},
		} {
			h := mestest.Must[*Handler](t)(New(f.env.Engine, f.env.Store, &Config{Authenticate: bearer, Models: f.h.cfg.Models,
				CheckpointKeys: f.cpKeys, Checkpoint: c.witness}))
			res := do(t, h, get("qa-3", "/verification"))
			if res.status != c.status {
				t.Errorf("%s: = %d %s; want %d", c.name, res.status, res.body, c.status)
				continue
			}
			if res.status != 200 {
				continue
			}
			var v verificationBody
			res.decode(t, &v)
			if d := cmp.Diff(c.want, v.Checkpoint); d != "" || !v.OK {
				t.Errorf("%s: checkpoint (-want +got):\n%s", c.name, d)
			}
		}
	})

	t.Run("checkpoint of another key", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		forged, err := audit.NewCheckpoint(cp.Position, cp.Time, cp.Heads)
		if err != nil {
			t.Fatal(err)
		}
		if err := forged.Sign(other); err != nil {
			t.Fatal(err)
		}
		h := mestest.Must[*Handler](t)(New(f.env.Engine, f.env.Store, &Config{Authenticate: bearer, Models: f.h.cfg.Models,
			CheckpointKeys: f.cpKeys, Checkpoint: func(context.Context) (*audit.Checkpoint, error) { return forged, nil }}))
		var v verificationBody
		do(t, h, get("qa-3", "/verification")).decode(t, &v)
		if v.OK || v.Checkpoint == nil || v.Checkpoint.Trusted || v.Failure == "" || v.Records == 0 {
			t.Errorf("= %+v; want not ok against an untrusted checkpoint", v)
		}
	})

	t.Run("unit without a code", func(t *testing.T) {
		f.env.Fact("lot", event.LotStream("SACK-1"), mes.CmdReceive, event.Receipt{Material: "SUGAR", Quantity: mestest.Decimal(t, "4"), Unit: "sack"})
		f.env.Fact("lot", event.LotStream("SACK-1"), mes.CmdRelease, nil)
		for i, body := range []string{`{"model":"batch","command":"release"}`,
			`{"model":"batch","command":"start","consume":[{"lot":"SACK-1","quantity":"1","unit":"sack"}]}`} {
			actor := []string{"sv-1", "op-7"}[i]
			if res := f.do(call{method: http.MethodPost, path: "/subjects/batch-S1/commands", actor: actor, key: fmt.Sprint("sack-", i), body: body}); res.status != 200 {
				t.Fatalf("%s = %d %s", body, res.status, res.body)
			}
		}
		res := f.do(get("sv-1", "/genealogy/lot%2FSACK-1/epcis"))
		if p := res.problem(t); res.status != http.StatusInternalServerError || p.Type != TypeInternal {
			t.Errorf("= %d %+v; want 500: the export's units are the service's to configure", res.status, p)
		}
		var fw traceBody
		f.do(get("sv-1", "/genealogy/lot%2FSACK-1/forward")).decode(t, &fw)
		if len(fw.Edges) != 1 || fw.Edges[0].To != "batch-S1" {
			t.Errorf("forward = %+v; want the trace without EPCIS", fw.Edges)
		}
	})
}
