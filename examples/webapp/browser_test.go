package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium to drive: CHROMIUM names one, else the usual
// names on PATH. Without one the browser test skips, except under CI,
// where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (set CHROMIUM); the browser test must run in CI")
	}
	t.Skip("no Chromium found (set CHROMIUM to run the browser test)")
	return ""
}

// TestBrowser signs in as the untrained operator in a headless browser,
// opens the dispatch board and finds the weighing step blocked by the
// training gate, with its reason. Then the trained operator starts the
// step and sees the scale's weight live, which takes the page's script
// running under the app's content security policy.
func TestBrowser(t *testing.T) {
	t.Parallel()
	path := chromium(t)
	srv, _ := newTestServer(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("p-op-8")),
		chromedp.Click(chromedp.ID("p-op-8")),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("blocked")),
	)
	if err != nil {
		t.Fatal(err)
	}
	actor, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("actor")))
	if err != nil {
		t.Fatal(err)
	}
	blocked, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("blocked")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(actor, "op-8") {
		t.Errorf("signed in as %q, want op-8", actor)
	}
	for _, want := range []string{"weighing step S10-weigh-api", "training.missing", "op-8 has no training for dispensing"} {
		if !strings.Contains(blocked, want) {
			t.Errorf("the board's blocked items lack %q:\n%s", want, blocked)
		}
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header form button`)),
		chromedp.WaitVisible(chromedp.ID("p-op-7")),
		chromedp.Click(chromedp.ID("p-op-7")),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("blocked")),
		chromedp.Navigate(srv.URL+"/batches/B-2026-001/steps/S10-weigh-api"),
		chromedp.Click(chromedp.CSS(`button[value=start]`)),
		chromedp.WaitVisible(chromedp.ID("complete-scale")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("live-stable").textContent === "stable"`)); err != nil {
		t.Fatalf("the live weight never showed as stable: %v", err)
	}
	live, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("live-weight")))
	if err != nil {
		t.Fatal(err)
	}
	if live != "0.00 kg" {
		t.Errorf("the live weight shows %q, want the empty pan's 0.00 kg", live)
	}
}
