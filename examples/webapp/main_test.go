package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRun is the README's command: run serves the plant, and / answers.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, config{addr: "127.0.0.1:0"}, io.Discard, started) }()
	var addr string
	select {
	case addr = <-started:
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the server did not start")
	}
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Sign in") {
		t.Errorf("/: %d, want the sign-in page", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after stop: %v", err)
	}
}

// TestRunBadSchema: a -schema that is no plain identifier is refused
// before anything is opened.
func TestRunBadSchema(t *testing.T) {
	t.Parallel()
	for _, cfg := range []config{{schema: "x"}, {dbURL: "postgres://nowhere", schema: "../etc"}} {
		if err := run(context.Background(), cfg, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "-schema") {
			t.Errorf("%+v: %v, want an error naming -schema", cfg, err)
		}
	}
}
