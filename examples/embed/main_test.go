package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestService: the page of code the README shows runs: a supervisor
// releases a batch, an operator asks whether QA could start it (no, and
// why, with nothing written), then starts it; a command without an
// idempotency key is refused as bad input.
func TestService(t *testing.T) {
	h, err := newService(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, key string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	for _, c := range []struct {
		method, path, key string
		status            int
		body              string
	}{
		{"POST", "/batches/B1/release?actor=ann", "k1", 201, `"ready"`},
		{"GET", "/batches/B1/check/start?actor=cat", "", 200, `"Allowed":false`},
		{"GET", "/batches/B1/check/start?actor=cat", "", 200, `role.missing`},
		{"GET", "/batches/B1", "", 200, `"ready"`},
		{"POST", "/batches/B1/start?actor=cat", "k2", 409, `role.missing`},
		{"POST", "/batches/B1/start?actor=bob", "k3", 201, `"in-progress"`},
		{"POST", "/batches/B1/start?actor=bob", "k3", 201, `"in-progress"`}, // the same key: replayed
		{"POST", "/batches/B1/complete?actor=bob", "", 400, `ID`},
	} {
		status, body := do(c.method, c.path, c.key)
		if status != c.status || !strings.Contains(body, c.body) {
			t.Errorf("%s %s: %d %s; want %d with %s", c.method, c.path, status, body, c.status, c.body)
		}
	}
}

// TestREADMEShowsThisService: the README's embedding page is this file,
// so that what the README shows compiles and runs (TestService).
func TestREADMEShowsThisService(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "<!-- embed: examples/embed/main.go -->\n```go\n")
	if start < 0 {
		t.Fatal("README has no embedding page marked <!-- embed: examples/embed/main.go -->")
	}
	body := string(readme)[start+len("<!-- embed: examples/embed/main.go -->\n```go\n"):]
	end := strings.Index(body, "```\n")
	if end < 0 || body[:end] != string(src) {
		t.Error("the README's embedding page differs from examples/embed/main.go; copy the file into it")
	}
}
