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
// idempotency key is refused as bad input, a caller without a known token
// is not authenticated, and only QA may read the whole record.
func TestService(t *testing.T) {
	h, err := newService(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, token, key, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	const (
		release  = `{"model":"batch","command":"release"}`
		start    = `{"model":"batch","command":"start"}`
		complete = `{"model":"batch","command":"complete"}`
	)
	for _, c := range []struct {
		method, path, token, key, body string
		status                         int
		want                           string
	}{
		{"POST", "/subjects/B1/commands", "ann-token", "k1", release, 200, `"to":"ready"`},
		{"POST", "/subjects/B1/checks", "cat-token", "", start, 200, `"allowed":false`},
		{"POST", "/subjects/B1/checks", "cat-token", "", start, 200, `role.missing`},
		{"GET", "/subjects/B1/state?model=batch", "bob-token", "", "", 200, `"state":"ready"`},
		{"POST", "/subjects/B1/commands", "cat-token", "k2", start, 422, `role.missing`},
		{"POST", "/subjects/B1/commands", "bob-token", "k3", start, 200, `"to":"in-progress"`},
		{"POST", "/subjects/B1/commands", "bob-token", "k3", start, 200, `"replayed":true`}, // the same key: replayed
		{"POST", "/subjects/B1/commands", "bob-token", "", complete, 400, `Idempotency-Key`},
		{"POST", "/subjects/B1/commands", "eve-token", "k4", complete, 401, `unauthenticated`},
		{"GET", "/records", "bob-token", "", "", 403, `forbidden`},
		{"GET", "/records", "cat-token", "", "", 200, `"records"`},
		{"GET", "/openapi.json", "", "", "", 200, `"openapi"`},
	} {
		status, body := do(c.method, c.path, c.token, c.key, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s by %s: %d %s; want %d with %s", c.method, c.path, c.token, status, body, c.status, c.want)
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
