package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// startApp runs the app as main does with cfg and returns its URL; the
// app stops (and run's error is checked) by the returned function.
func startApp(t *testing.T, cfg config) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, io.Discard, started) }()
	select {
	case addr := <-started:
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after stop: %v", err)
			}
		}
		t.Cleanup(stop)
		return "http://" + addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("the app did not start")
	}
	return "", nil
}

// TestPostgresRestart runs the app on a Postgres schema, weighs a step,
// opens a deviation and hands the shift over, stops it, and starts a new
// app on the same schema and keys: everything is there, seeding is not
// repeated, and the whole record verifies, attestation included.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	cfg := config{addr: "127.0.0.1:0", dbURL: os.Getenv(pgtest.EnvURL), schema: schema, keyFile: filepath.Join(t.TempDir(), "webapp.keys")}

	base, stop := startApp(t, cfg)
	srv := &httptest.Server{URL: base}
	op := signIn(t, srv, "op-7")
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}, "lot": {"L7"}})
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"complete"}, "lot": {"L7"}, "weight": {"12.50"}})
	postForm(t, op, "/exceptions", http.StatusOK, url.Values{"batch": {"B-2026-001"}, "summary": {"label misprinted"}, "consequence": {"none"}})
	op.get("/handover")
	postForm(t, op, "/handover", http.StatusOK, url.Values{"action": {"hand-over"}, "note:batch/B-2026-001": {"waits for verification"}})
	before := heads(t, pool, schema)
	stop()

	base, stop = startApp(t, cfg)
	srv = &httptest.Server{URL: base}
	qa := signIn(t, srv, "qa-3")
	_, body := qa.get(step)
	mustContain(t, body, `<strong id="state">complete</strong>`)
	_, body = qa.get("/exceptions/DEV-0001")
	mustContain(t, body, "label misprinted", `<strong id="x-state">open</strong>`)
	_, body = qa.get("/handover")
	mustContain(t, body, "waits for verification", "Olga Operator")
	_, body = qa.get("/audit")
	mustContain(t, body, "Verified:", "every record attested by the engine")
	if after := heads(t, pool, schema); len(after) != len(before) {
		t.Errorf("the restart changed the streams: %d before, %d after", len(before), len(after))
	} else {
		for s, v := range before {
			if after[s] != v {
				t.Errorf("stream %s was at version %d, is at %d after the restart (seeded again?)", s, v, after[s])
			}
		}
	}
	// A start with nothing written since the last one finds the last
	// one's checkpoint at its position, and still writes: QA verifies.
	stop()
	base, _ = startApp(t, cfg)
	qa = signIn(t, &httptest.Server{URL: base}, "qa-3")
	qa.get(step)
	postForm(t, qa, step, http.StatusOK, url.Values{"action": {"verify"}, "password": {demoPassword}})
}

// heads reads every stream's version in schema, as the store sees it.
func heads(t *testing.T, pool *pgxpool.Pool, schema string) map[string]int64 {
	t.Helper()
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := s.Heads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, h := range hs {
		out[h.Stream] = h.Version
	}
	return out
}
