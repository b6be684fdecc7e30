package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// artifacts is where the browser tests leave their screenshots:
// $INTERLOCK_ARTIFACTS (CI keeps it) or a directory of the test's.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("INTERLOCK_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one headless browser on the app, with the steps a person takes.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
		chromedp.WindowSize(1200, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return &tab{t: t, ctx: ctx, base: base, dir: artifacts(t)}
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks sel and waits for the page the form answers with: the old
// page is marked first, so that nothing on it is taken for the new one.
func (b *tab) submit(sel string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.dataset.old = "1"`)); err != nil {
		b.t.Fatalf("mark the page: %v", err)
	}
	b.do("submit "+sel, chromedp.Click(chromedp.CSS(sel)))
	b.loaded("submit " + sel)
}

// loaded waits until a new page, not the marked one, has loaded whole.
// Asking while the browser swaps documents may fail: it asks again.
func (b *tab) loaded(what string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.body && !document.body.dataset.old`))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: the answer never loaded", what)
}

// fill types v into the field sel.
func (b *tab) fill(sel, v string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), v))
}

func (b *tab) signIn(who string) {
	b.t.Helper()
	b.do("sign in as "+who, chromedp.Navigate(b.base+"/signin"), chromedp.Click(chromedp.ID("p-"+who)))
	b.submit("#signin")
	if got := b.text("#actor"); !strings.Contains(got, who) {
		b.t.Fatalf("signed in as %q, want %s", got, who)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// want fails unless the element sel holds every one of want.
func (b *tab) want(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s lacks %q:\n%s", sel, w, got)
		}
	}
}

// shot writes a screenshot of the page as the next numbered PNG.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestBrowserWholeBatch: in headless Chromium, an operator and a
// verifier run batch B-2026-001 through: the operator weighs on the live
// scale, is refused verifying her own step, opens a deviation and hands
// the shift over; QA acknowledges the handover with a signature and
// verifies; the supervisor dispositions the deviation and QA approves it,
// closing it; the operator mixes, packs and completes the batch; a second QA person
// releases it; the finished lot's trace shows the supplier's lot.
// Every page is a screenshot in artifacts().
func TestBrowserWholeBatch(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	b := newTab(t, srv.URL)
	const step = "/batches/B-2026-001/steps/S10-weigh-api"

	b.signIn("op-7")
	b.shot("dispatch-board")
	b.open(step)
	b.submit(`button[value=start]`)
	b.want("#state", "in-progress")
	// The lot's label under scanner SCN-1: the server reads and parses it.
	b.fill(`#label`, "L7")
	b.submit("#scan-label")
	b.want("#scanned", "L7")
	// The empty container on the pan, tared: the scale then shows net.
	b.fill(`input[name=load]`, "0.80")
	b.submit("#set-load")
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("live-weight").textContent === "0.80 kg" && document.getElementById("live-stable").textContent === "stable"`)); err != nil {
		t.Fatalf("the scale never showed a stable 0.80 kg: %v", err)
	}
	b.submit("#tare")
	b.want("#outcome", "tared SC-01 at 0.80 kg")
	b.want("#live-tare", "0.80 kg")
	b.fill(`input[name=load]`, "13.30")
	b.submit("#set-load")
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("live-weight").textContent === "12.50 kg" && document.getElementById("live-stable").textContent === "stable" && document.getElementById("live-tare").textContent === "0.80 kg"`)); err != nil {
		t.Fatalf("the scale never showed a stable 12.50 kg net on a 0.80 kg tare: %v", err)
	}
	b.shot("step-live-weight")
	b.submit("#complete-scale")
	b.want("#state", "complete")

	b.fill(`input[name=password]`, demoPassword)
	b.submit(`button[value=verify]`)
	b.want("#denied", "signature.self", "on the record")
	b.shot("self-verification-refused")

	b.fill(`input[name=summary]`, "powder spilled beside the scale")
	b.submit("#open-deviation")
	b.want("#outcome", "opened DEV-0001")
	b.want("#x-state", "open")
	b.shot("deviation-opened")

	b.open("/handover")
	b.fill(`input[name="note:batch/B-2026-001"]`, "weighed on SC-01, waits for QA's verification; DEV-0001 open")
	b.fill(`input[name="note:equipment/SC-01"]`, "pan cleaned after the spill")
	b.submit("#hand-over-button")
	b.want("#outcome", "new → handed-over")

	b.signIn("qa-3")
	b.open("/handover")
	b.fill(`section.handover input[name=password]`, demoPassword)
	b.submit(`section.handover button.acknowledge`)
	b.want("section.handover", "Acknowledged by Quentin QA (qa-3)", "waits for QA's verification")
	b.shot("handover")
	b.open(step)
	b.fill(`input[name=password]`, demoPassword)
	b.submit(`button[value=verify]`)
	b.want("#outcome", "complete → verified", "Quentin QA")

	b.signIn("sv-1")
	b.open("/exceptions/DEV-0001")
	b.fill(`select[name=decision]`, "use-as-is")
	b.fill(`input[name=rationale]`, "spilled outside the container; the weighed powder is intact")
	b.submit("#disposition")
	b.want("#x-state", "dispositioned")

	b.signIn("qa-3")
	b.open("/exceptions/DEV-0001")
	b.fill(`input[name=password]`, demoPassword)
	b.submit("#approve")
	b.want("#x-state", "closed")
	b.want("#approved", "Quentin QA")
	b.shot("deviation-closed")

	b.signIn("op-7")
	for _, s := range []string{"/batches/B-2026-001/steps/S20-mix", "/batches/B-2026-001/steps/S30-pack"} {
		b.open(s)
		b.submit("#start")
		b.want("#state", "in-progress")
		b.submit("#complete")
		b.want("#state", "complete")
	}
	b.open("/batches/B-2026-001/review")
	b.fill(`input[name=lot]`, "FG-2026-001")
	b.submit("#complete-batch")
	b.want("#outcome", "in-progress → complete")

	b.signIn("qa-4")
	b.open("/batches/B-2026-001/review")
	b.want("#readiness", "Ready for release")
	// What QA signs off: the weight against its target with its tare,
	// the lots, the balance and yield, the people, the refusals apart.
	b.want("#weighings", "12.5 kg", "12.45 to 12.55 kg", "0.8 kg", "13.3 kg", "L7 (scanned on SCN-1)", "Olga Operator")
	b.want("#materials", "L7", "FG-2026-001", "1000 ea")
	b.want("#balance", "balanced", "100.00 %")
	b.want("#refused", "signature.self")
	b.fill(`input[name=password]`, demoPassword)
	b.submit("#release")
	b.want("#release-state", "released")
	b.want("#outcome", "Rita Release", "approved")
	b.shot("review-released")

	b.open("/lots/FG-2026-001")
	b.want("#suppliers", "L7", "ACME Pharma", "A-77")
	b.shot("trace")
	b.open("/exceptions")
	b.shot("exceptions")
	b.open("/audit")
	b.shot("audit")
	// The mixer's PLC, read over Modbus TCP: start it and see the event.
	b.open("/equipment")
	b.do("tick running", chromedp.Click(chromedp.CSS(`input[name=running]`)))
	b.submit("#plc-set")
	b.want("#plc-running", "true")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.text("#plc-events"), "running"); {
		if time.Now().After(deadline) {
			t.Fatal("the PLC's running never showed among its events")
		}
		time.Sleep(100 * time.Millisecond)
		b.open("/equipment")
	}
	b.shot("equipment")
}
