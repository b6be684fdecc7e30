package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// newTestServer seeds a plant on a fresh memory store and serves the app.
func newTestServer(t *testing.T) (*httptest.Server, *plant) {
	t.Helper()
	srv, p, _ := newTestApp(t)
	return srv, p
}

// newTestApp is newTestServer that also gives the app, whose simulated
// scale a test can load.
func newTestApp(t *testing.T) (*httptest.Server, *plant, *app) {
	t.Helper()
	ctx := context.Background()
	clock := storage.Clock(func() time.Time { return time.Now().UTC() })
	store := memory.New(&memory.Config{Clock: clock})
	p, err := newPlant(ctx, store, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := newLiveScale()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close() })
	log := slog.New(slog.DiscardHandler)
	a, err := newApp(p, live, log)
	if err != nil {
		t.Fatal(err)
	}
	if a.plc, err = newLivePLC(takeOutOnFault(p, log)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.plc.Close() })
	if a.scanner, err = newLiveScanner(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.scanner.Close() })
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv, p, a
}

// browser is a client with its own cookies, like one browser.
type browser struct {
	t    *testing.T
	srv  *httptest.Server
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar}}
}

// get fetches path and keeps the page's CSRF token.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.c.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(res)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(res)
}

func (b *browser) read(res *http.Response) (int, string) {
	b.t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return res.StatusCode, string(body)
}

func signIn(t *testing.T, srv *httptest.Server, who string) *browser {
	t.Helper()
	b := newBrowser(t, srv)
	b.get("/signin")
	if status, body := b.post("/signin", url.Values{"csrf": {b.csrf}, "person": {who}}); status != http.StatusOK || !strings.Contains(body, "signed in as") {
		t.Fatalf("sign in as %s: %d\n%s", who, status, body)
	}
	return b
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func batchRecords(t *testing.T, p *plant, batch string) []audit.Record {
	t.Helper()
	recs, err := p.store.Load(context.Background(), batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func denials(recs []audit.Record) []audit.Record {
	var out []audit.Record
	for _, r := range recs {
		if r.Type == event.Denied {
			out = append(out, r)
		}
	}
	return out
}

func TestSignInRequired(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	b := newBrowser(t, srv)
	status, body := b.get("/")
	if status != http.StatusOK || !strings.Contains(body, "Demo sign-in") {
		t.Fatalf("/ without a session: %d, want the sign-in page", status)
	}
	mustContain(t, body, "demo-password", `value="op-7"`)
	res, err := http.Get(srv.URL + "/api/subjects/batch%2FB-2026-001/state?model=batch")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API without a session: %d, want 401", res.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	res, err := http.Get(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if res.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestDispatchBoard(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	before := len(batchRecords(t, p, "batch/B-2026-001"))
	b := signIn(t, srv, "op-8")
	status, body := b.get("/")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	blocked := body[strings.Index(body, `id="blocked"`):]
	mustContain(t, blocked, "weighing step S10-weigh-api", string(gate.CodeTrainingMissing), "op-8 has no training for dispensing")
	if n := len(batchRecords(t, p, "batch/B-2026-001")); n != before {
		t.Errorf("the board wrote %d records to the batch; the dry run writes none", n-before)
	}
	// The trained operator's step is not blocked by training.
	_, body = signIn(t, srv, "op-7").get("/")
	if strings.Contains(body, string(gate.CodeTrainingMissing)) {
		t.Error("op-7 is trained, yet the board says training is missing")
	}
	// Nor is the QA release queued for her: she signs her own commands on
	// these pages, and her role cannot give the release's signature.
	blocked = body[strings.Index(body, `id="blocked"`):]
	queued := body[:strings.Index(body, `id="blocked"`)]
	mustContain(t, blocked, "QA release", string(mes.CodeSignatureRole), `op-7 holds none of the roles [qa] that may sign release &#34;approved&#34;`)
	if strings.Contains(queued, "QA release") {
		t.Error("the operator's board queues the QA release for her")
	}
	// qa-3 verified B-2026-000's weighing: its release is not his to sign.
	_, body = signIn(t, srv, "qa-3").get("/")
	blocked = body[strings.Index(body, `id="blocked"`):]
	mustContain(t, blocked, string(mes.CodeSignatureSelf), "qa-3 took part in the work on batch/B-2026-000")
	// QA sees the made batch's release, and that it needs a signature.
	_, body = signIn(t, srv, "qa-4").get("/")
	mustContain(t, body, "QA release", `needs 1 signature(s) meaning &#34;approved&#34; by qa`)
}

func TestStep(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	const path = "/batches/B-2026-001/steps/S10-weigh-api"
	op := signIn(t, srv, "op-7")
	status, body := op.get(path)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "12.5 kg", "12.45 to 12.55 kg", "pending", `value="start"`)
	post := func(b *browser, f url.Values) (int, string) {
		t.Helper()
		f.Set("csrf", b.csrf)
		return b.post(path, f)
	}
	if status, body := post(op, url.Values{"action": {"start"}}); status != http.StatusOK {
		t.Fatalf("start: %d\n%s", status, body)
	}
	t.Run("quarantined lot", func(t *testing.T) {
		status, body := post(op, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "lot": {"L8"}, "weight": {"12.50"}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", status)
		}
		mustContain(t, body, string(gate.CodeLotNotReleased), "on the record")
	})
	t.Run("no lot", func(t *testing.T) {
		status, body := post(op, url.Values{"action": {"complete"}, "lot_source": {"typed"}, "weight": {"12.50"}})
		if status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", status)
		}
		mustContain(t, body, "no lot")
	})
	deniedBefore := len(denials(batchRecords(t, p, "batch/B-2026-001")))
	status, body = post(op, url.Values{"action": {"complete"}, "lot": {"L7"}, "weight": {"12.61"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("out of tolerance: %d, want 422", status)
	}
	mustContain(t, body, string(gate.CodeAboveUpperLimit), "MANUAL ENTRY")
	ds := denials(batchRecords(t, p, "batch/B-2026-001"))
	if len(ds) != deniedBefore+1 || ds[len(ds)-1].Actor != "op-7" {
		t.Fatalf("the out-of-tolerance weight left %d denied attempts (want one more than %d)", len(ds), deniedBefore)
	}
	if status, body = post(op, url.Values{"action": {"complete"}, "lot": {"L7"}, "weight": {"12.50"}}); status != http.StatusOK {
		t.Fatalf("in tolerance: %d\n%s", status, body)
	}
	mustContain(t, body, "in-progress → complete", "Sign and verify")

	t.Run("own verification refused", func(t *testing.T) {
		status, body := post(op, url.Values{"action": {"verify"}, "password": {demoPassword}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422\n%s", status, body)
		}
	})
	qa := signIn(t, srv, "qa-3")
	qa.get(path)
	if status, _ := post(qa, url.Values{"action": {"verify"}, "password": {"wrong password"}}); status == http.StatusOK {
		t.Fatal("a wrong password verified the step")
	}
	status, body = post(qa, url.Values{"action": {"verify"}, "password": {demoPassword}, "reason": {"checked"}})
	if status != http.StatusOK {
		t.Fatalf("verify: %d\n%s", status, body)
	}
	mustContain(t, body, "complete → verified", "signed by Quentin QA (qa-3)", `meaning &#34;verified&#34;`)

	// QA reviews the typed weight by exception, and the denied attempts.
	_, body = qa.get("/batches/B-2026-001/review/report")
	mustContain(t, body, `data-kind="manual-entry"`, `data-kind="denied-attempt"`)
}

func TestActorNeverFromForm(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	b := signIn(t, srv, "op-8")
	b.get("/batches/B-2026-001/steps/S10-weigh-api")
	// op-8 names op-7, who is trained, in every field a form could carry.
	status, body := b.post("/batches/B-2026-001/steps/S10-weigh-api?actor=op-7", url.Values{"csrf": {b.csrf}, "action": {"start"},
		"actor": {"op-7"}, "person": {"op-7"}, "user": {"op-7"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", status)
	}
	mustContain(t, body, string(gate.CodeTrainingMissing))
	ds := denials(batchRecords(t, p, "batch/B-2026-001"))
	if len(ds) == 0 || ds[len(ds)-1].Actor != "op-8" {
		t.Fatalf("the denied attempt is not op-8's: %+v", ds)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	before := len(batchRecords(t, p, "batch/B-2026-001"))
	op := signIn(t, srv, "op-7")
	other := signIn(t, srv, "op-8")
	op.get("/")
	other.get("/")
	for name, c := range map[string]struct {
		b    *browser
		path string
		form url.Values
	}{
		"no token":                {op, "/batches/B-2026-001/steps/S10-weigh-api", url.Values{"action": {"start"}, "lot": {"L7"}}},
		"another session's token": {op, "/batches/B-2026-001/steps/S10-weigh-api", url.Values{"csrf": {other.csrf}, "action": {"start"}, "lot": {"L7"}}},
		"release":                 {op, "/batches/B-2026-000/release", url.Values{"password": {demoPassword}}},
		"sign out":                {op, "/signout", nil},
		"sign in":                 {newBrowser(t, srv), "/signin", url.Values{"person": {"qa-4"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if status, _ := c.b.post(c.path, c.form); status != http.StatusForbidden {
				t.Errorf("status %d, want 403", status)
			}
		})
	}
	if n := len(batchRecords(t, p, "batch/B-2026-001")); n != before {
		t.Errorf("a refused form wrote %d records", n-before)
	}
}

func TestReview(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	qa := signIn(t, srv, "qa-4")
	status, body := qa.get("/batches/B-2026-001/review")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "Not ready", "release.step-not-done", `src="/batches/B-2026-001/review/report"`)

	status, body = qa.get("/batches/B-2026-000/review")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "Ready for release", "Sign and release")
	if status, body = qa.get("/batches/B-2026-000/review/report"); status != http.StatusOK || !strings.Contains(body, `id="exceptions"`) {
		t.Fatalf("the report: %d\n%s", status, body)
	}

	// qa-3 verified the step: the engine refuses the release, on the record.
	qa3 := signIn(t, srv, "qa-3")
	qa3.get("/batches/B-2026-000/review")
	if status, body = qa3.post("/batches/B-2026-000/release", url.Values{"csrf": {qa3.csrf}, "password": {demoPassword}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("release by qa-3: %d, want 422\n%s", status, body)
	}
	if len(denials(batchRecords(t, p, "batch/B-2026-000"))) == 0 {
		t.Error("the refused release is not on the record")
	}
	status, body = qa.post("/batches/B-2026-000/release", url.Values{"csrf": {qa.csrf}, "password": {demoPassword}})
	if status != http.StatusOK {
		t.Fatalf("release by qa-4: %d\n%s", status, body)
	}
	mustContain(t, body, "pending → released", "signed by Rita Release (qa-4)")
}

func TestLot(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	b := signIn(t, srv, "qa-4")
	status, body := b.get("/lots/L7")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "<svg", `data-node="lot/L7"`, `data-node="batch/B-2026-000"`, `data-node="lot/FG-0"`, "ACME Pharma", "A-77",
		`href="/api/genealogy/lot%2FL7/epcis"`, `id="recall"`)
	_, body = b.get("/lots/FG-0")
	mustContain(t, body, `data-node="lot/L7"`)
	if status, _ := b.get("/lots/NOPE"); status != http.StatusNotFound {
		t.Errorf("an unknown lot: %d, want 404", status)
	}
	res, err := b.c.Get(srv.URL + "/api/genealogy/lot%2FL7/epcis")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "ld+json") || !strings.Contains(string(doc), "EPCISDocument") {
		t.Errorf("EPCIS: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestSVGEscapes(t *testing.T) {
	t.Parallel()
	svg := string(drawGraph(`lot/<script>`, nil, nil))
	if strings.Contains(svg, "<script>") {
		t.Errorf("a node name is not escaped: %s", svg)
	}
}

func TestAudit(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	status, body := signIn(t, srv, "qa-4").get("/audit")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "Verified:", "every record attested", "checkpoint signed at start-up")
}

func TestLiveScale(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	const path = "/batches/B-2026-001/steps/S10-weigh-api"
	op := signIn(t, srv, "op-7")
	op.get(path)
	if status, body := op.post(path, url.Values{"csrf": {op.csrf}, "action": {"start"}, "lot": {"L7"}}); status != http.StatusOK {
		t.Fatalf("start: %d\n%s", status, body)
	}
	load := func(v string, stable bool) {
		t.Helper()
		f := url.Values{"csrf": {op.csrf}, "load": {v}, "back": {path}}
		if stable {
			f.Set("stable", "on")
		}
		if status, body := op.post("/scale/simulator", f); status != http.StatusOK || !strings.Contains(body, "Complete with the scale") {
			t.Fatalf("set the load: %d", status)
		}
	}
	load("12.61", true)
	status, body := op.get("/scale")
	if status != http.StatusOK || !strings.Contains(body, `"value":"12.61"`) || !strings.Contains(body, `"stable":true`) {
		t.Fatalf("/scale: %d %s", status, body)
	}
	// The browser's weight field is ignored: the server reads the scale.
	status, body = op.post(path, url.Values{"csrf": {op.csrf}, "action": {"complete-scale"}, "lot": {"L7"}, "weight": {"12.50"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("12.61 kg from the scale: %d, want 422", status)
	}
	mustContain(t, body, string(gate.CodeAboveUpperLimit))
	load("12.50", false)
	if status, body = op.post(path, url.Values{"csrf": {op.csrf}, "action": {"complete-scale"}, "lot": {"L7"}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("unstable: %d, want 422", status)
	}
	mustContain(t, body, string(gate.CodeUnstable))
	load("12.50", true)
	if status, body = op.post(path, url.Values{"csrf": {op.csrf}, "action": {"complete-scale"}, "lot": {"L7"}}); status != http.StatusOK {
		t.Fatalf("12.50 kg stable: %d\n%s", status, body)
	}
	recs := batchRecords(t, p, "batch/B-2026-001")
	last := recs[len(recs)-1]
	if last.Type != "step.completed" || len(last.Evidence) == 0 {
		t.Fatalf("the last record is %s with %d evidence", last.Type, len(last.Evidence))
	}
	ev := string(last.Evidence)
	for _, want := range []string{`"SC-01"`, `"device"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("the evidence lacks %s: %s", want, ev)
		}
	}
	if status, _ := op.post("/scale/simulator", url.Values{"load": {"1"}}); status != http.StatusForbidden {
		t.Errorf("the simulator without a CSRF token: %d, want 403", status)
	}
}

// TestAuditShowsBreak writes a record around the engine, as someone with
// the store's credentials could, and finds it named on the audit page.
func TestAuditShowsBreak(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	ctx := context.Background()
	v := int64(len(batchRecords(t, p, "batch/B-2026-001")))
	if _, err := p.store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "batch/B-2026-001", ExpectedVersion: v,
		Events: []storage.Event{{Type: "step.completed", Actor: "op-7", Payload: []byte(`{"to":"complete"}`)}}}}}); err != nil {
		t.Fatal(err)
	}
	status, body := signIn(t, srv, "qa-4").get("/audit")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, body, "does not verify", "<td>batch/B-2026-001</td><td>"+strconv.FormatInt(v+1, 10)+"</td>", string(audit.BreakUnattested))
}

// TestDispatchReady: for the trained operator the weighing step is work
// to do (it waits only for the scan), not a blocked item.
func TestDispatchReady(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	_, body := signIn(t, srv, "op-7").get("/")
	queued := body[strings.Index(body, "Queued for you"):strings.Index(body, `id="blocked"`)]
	mustContain(t, queued, "weighing step S10-weigh-api", "at the screen:")
	if strings.Contains(body[strings.Index(body, `id="blocked"`):], "weighing step") {
		t.Error("the trained operator's weighing step is on the blocked list")
	}
}

// TestAPI: the JSON front door takes the actor from the session cookie;
// a body that names an actor is refused, and a command runs as the
// session's person.
func TestAPI(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	b := signIn(t, srv, "op-8")
	post := func(path, key, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	const subject = "/subjects/batch%2FB-2026-001"
	// The steps are the route's: each step's model by its own name.
	start := `{"model":"route-step/TAB-500/S10-weigh-api","step":"S10-weigh-api","command":"start","refs":{"scale":"SC-01"}`
	status, body := post(subject+"/checks", "", start+`}`)
	if status != http.StatusOK || !strings.Contains(body, string(gate.CodeTrainingMissing)) {
		t.Errorf("check: %d %s", status, body)
	}
	if status, body = post(subject+"/commands", "k-1", start+`,"actor":"op-7"}`); status != http.StatusBadRequest {
		t.Errorf("a body naming an actor: %d %s, want 400", status, body)
	}
	if status, body = post(subject+"/commands", "k-2", start+`}`); status != http.StatusUnprocessableEntity {
		t.Errorf("command: %d %s, want 422", status, body)
	}
	// One step's model does not run another step's command.
	other := `{"model":"route-step/TAB-500/S10-weigh-api","step":"S20-mix","command":"start","refs":{"equipment":"MX-01"}}`
	if status, body = post(subject+"/commands", "k-3", other); status/100 != 4 || status == http.StatusUnprocessableEntity || !strings.Contains(body, "runs step S10-weigh-api only") {
		t.Errorf("the weighing's model for the mixing step: %d %s, want a refused request", status, body)
	}
	ds := denials(batchRecords(t, p, "batch/B-2026-001"))
	if len(ds) != 1 || ds[0].Actor != "op-8" {
		t.Errorf("denied attempts %+v, want one by op-8", ds)
	}
}

// TestAPIConsumesWhatWasScanned: an integrator's client on the JSON
// front door scans one lot and consumes another; the route's step model
// refuses it, and the attempt is on the record.
func TestAPIConsumesWhatWasScanned(t *testing.T) {
	t.Parallel()
	srv, p := newTestServer(t)
	op := signIn(t, srv, "op-7")
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}})
	body := func(lot string) string {
		return `{"model":"route-step/TAB-500/S10-weigh-api","step":"S10-weigh-api","command":"complete","refs":{"scale":"SC-01"},` +
			`"evidence":[{"name":"lot-scan","identity":"L7","source":"manual"},{"name":"net-weight","value":"12.50","unit":"kg","source":"manual","stable":true}],` +
			`"consume":[{"lot":"` + lot + `","quantity":"12.50","unit":"kg"}]}`
	}
	post := func(key, b string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/subjects/batch%2FB-2026-001/commands", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := op.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	status, out := post("c-1", body("L8"))
	if status != http.StatusUnprocessableEntity || !strings.Contains(out, string(route.CodeConsumedNotScanned)) || !strings.Contains(out, string(gate.CodeLotNotReleased)) {
		t.Fatalf("scanned L7, consumed L8 (quarantined): %d %s", status, out)
	}
	ds := denials(batchRecords(t, p, "batch/B-2026-001"))
	if len(ds) != 1 || ds[0].Actor != "op-7" {
		t.Errorf("denied attempts %+v, want op-7's", ds)
	}
	if status, out = post("c-2", body("L7")); status != http.StatusOK {
		t.Fatalf("scanned and consumed L7: %d %s", status, out)
	}
}
