package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

// interlock runs the command in-process with args.
func interlock(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// withEnv runs the command with env as its whole environment.
func withEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut}
	code := c.run(t.Context(), args)
	return result{code, out.String(), errOut.String()}
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// testURL is the test database's URL; pgtest has skipped the test (or
// failed it under CI) when it is not set.
func testURL(t *testing.T) string {
	t.Helper()
	return os.Getenv(pgtest.EnvURL)
}

// urlAs is the test database's URL with role as its user.
func urlAs(t *testing.T, role string) string {
	t.Helper()
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatalf("%s: %v", pgtest.EnvURL, err)
	}
	u.User = url.User(role)
	return u.String()
}

// testReadWait is how long the tests' reads wait for write transactions
// left open in the cluster: other tests, other packages' tests, share the
// server, and a record they hold back would otherwise be missing (or, to
// verification, unread). A read returns as soon as they end.
const testReadWait = "30s"

// storeOn is a Postgres store in a fresh, migrated schema, with its pool
// (a superuser's, as in CI) and the schema's name.
func storeOn(t *testing.T) (*postgres.Store, *pgxpool.Pool, string) {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, pool, schema
}

// plant writes, through the engine, the master data of mestest.Plant and
// one batch, batch/B-1, that consumes 20 kg of lot L7 and produces 100 of
// lot FIN-1.
func plant(t *testing.T, env *mestest.Env) {
	t.Helper()
	env.Plant()
	batch := mestest.Must[*mes.Model](t)(mes.NewModel("ops-batch", 1).Of("batch").States("planned", "made").Initial("planned").Final("made").
		Permit("planned", "make", "made", mes.Recording("batch.made")).Build())
	_, err := env.Engine.Execute(context.Background(), mes.Request{ID: "make-b1", Model: batch, Subject: "batch/B-1", Command: "make", Actor: "op-7",
		Consume: []event.Consumption{{Lot: "L7", Quantity: mestest.Decimal(t, "20"), Unit: "kg"}},
		Produce: []mes.Production{{Lot: "FIN-1", Material: "TAB-500", Quantity: mestest.Decimal(t, "100"), Unit: "ea"}}})
	if err != nil {
		t.Fatalf("make batch/B-1: %v", err)
	}
}

// lines is a writer that a test can wait on: it signals every complete
// line written to it.
type lines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	added chan struct{}
}

func newLines() *lines { return &lines{added: make(chan struct{}, 1024)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			// An incomplete line waits for the rest.
			rest := []byte(line)
			l.buf.Reset()
			l.buf.Write(rest)
			return len(p), nil
		}
		l.lines = append(l.lines, strings.TrimSuffix(line, "\n"))
		l.added <- struct{}{}
	}
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// feedLines decodes the feed's output.
func feedLines(t *testing.T, out []string) []feedLine {
	t.Helper()
	var got []feedLine
	for _, l := range out {
		if l == "" {
			continue
		}
		var f feedLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("feed line %q: %v", l, err)
		}
		got = append(got, f)
	}
	return got
}

// tamper runs stmt ({s} standing for the schema) with the events table's
// append-only trigger off, as a superuser could.
func tamper(t *testing.T, pool *pgxpool.Pool, schema, stmt string) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(t.Context()))
	for _, s := range []string{"ALTER TABLE {s}.events DISABLE TRIGGER events_append_only", stmt, "ALTER TABLE {s}.events ENABLE TRIGGER events_append_only"} {
		tag, err := tx.Exec(t.Context(), strings.ReplaceAll(s, "{s}", schema))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if s == stmt && tag.RowsAffected() != 1 {
			t.Fatalf("%s changed %d rows, want 1", s, tag.RowsAffected())
		}
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// schemaIn is a new, empty schema, dropped when t ends.
func schemaIn(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return pgtest.Schema(t, pool)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
