package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestFlags: the defaults are a valid plant on memory, and every invalid
// flag is refused with a message that names it, all in one error.
func TestFlags(t *testing.T) {
	t.Parallel()
	c, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Mode != ModePlant || c.Store != "memory" || c.Operators != 8 || c.Scales != 4 || c.PLCs != 8 || c.Duration != 30*time.Second || !c.Migrate || !c.Drop {
		t.Errorf("defaults = %+v", c)
	}
	// A schema someone named is kept unless they ask for it to go.
	for _, tc := range []struct {
		args []string
		drop bool
	}{
		{[]string{"-store", "postgres", "-database-url", "postgres://x"}, true},
		{[]string{"-store", "postgres", "-database-url", "postgres://x", "-schema", "mine"}, false},
		{[]string{"-store", "postgres", "-database-url", "postgres://x", "-schema", "mine", "-drop"}, true},
		{[]string{"-store", "postgres", "-database-url", "postgres://x", "-drop=false"}, false},
	} {
		c, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil || c.Drop != tc.drop {
			t.Errorf("%q: drop %v, %v; want %v", tc.args, c != nil && c.Drop, err, tc.drop)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string // each in the error
	}{
		{[]string{"-store", "oracle"}, []string{`-store is "oracle"`}},
		{[]string{"-store", "postgres"}, []string{"-store postgres needs -database-url"}},
		{[]string{"-database-url", "postgres://x"}, []string{"-database-url is given with -store memory"}},
		{[]string{"-store", "postgres", "-database-url", "postgres://x", "-schema", "Drop Table"}, []string{`-schema "Drop Table"`}},
		{[]string{"-mode", "fast"}, []string{`-mode is "fast"`}},
		{[]string{"-duration", "0s", "-lots", "0", "-deny-rate", "2"}, []string{"-duration is 0s", "-lots is 0", "-deny-rate is 2"}},
		{[]string{"-operators", "0", "-scales", "0", "-plcs", "0"}, []string{"nothing to drive"}},
		{[]string{"-operators", "0", "-plcs", "0", "-checkweigh=false"}, []string{"nothing to drive"}},
		{[]string{"-scales", "0"}, []string{"-operators needs at least one scale"}},
		{[]string{"-operators", "-1"}, []string{"must not be negative"}},
		{[]string{"-mode", "appends", "-writers", "0", "-conns", "-1"}, []string{"-writers is 0", "-conns is -1"}},
		{[]string{"extra"}, []string{`unexpected arguments ["extra"]`}},
	} {
		_, err := parseFlags(tc.args, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tc.args, err, w)
			}
		}
	}
}

// shortPlant is a plant small and short enough for a test, with enough
// denials, shared lots and recalibrations that every outcome occurs.
func shortPlant() *Config {
	return &Config{Mode: ModePlant, Store: "memory", Duration: 1500 * time.Millisecond, Operators: 3, Scales: 2, PLCs: 2, Lots: 1,
		Checkweigh: true, DenyRate: 0.2, Recalibrate: 300 * time.Millisecond, Seed: 7, Migrate: true, Drop: true}
}

// checkPlant asserts that a plant run's counts add up: every command
// submitted ended allowed or denied, none failed, every kind ran, the
// gates denied some weighings, and the store verified with exactly the
// records the commands appended.
func checkPlant(t *testing.T, res *Result, out string) {
	t.Helper()
	if res.WorkerErr != nil {
		t.Errorf("worker error: %v", res.WorkerErr)
	}
	for _, k := range []Kind{KindSeed, KindBatchRelease, KindBatchStart, KindStepStart, KindStepComplete, KindBatchComplete, KindCheckweigh, KindPackML, KindCalibrate} {
		tl := res.Tallies[k]
		if tl == nil || tl.Submitted == 0 {
			t.Errorf("%s: no commands", k)
			continue
		}
		if tl.Submitted != tl.Allowed+tl.Denied+tl.Failed || tl.Failed != 0 {
			t.Errorf("%s: %d submitted, %d allowed + %d denied + %d failed (%v)", k, tl.Submitted, tl.Allowed, tl.Denied, tl.Failed, tl.Errors)
		}
		if int64(len(tl.Latency)) != tl.Submitted && k != KindSeed {
			t.Errorf("%s: %d latencies for %d commands", k, len(tl.Latency), tl.Submitted)
		}
	}
	for _, k := range []Kind{KindStepComplete, KindCheckweigh} {
		if tl := res.Tallies[k]; tl != nil && tl.Denied == 0 {
			t.Errorf("%s: no denials at a deny rate of 0.2", k)
		}
	}
	// Every batch an operator started was released first, and each of its
	// steps started before it completed.
	rel, start := res.Tallies[KindBatchRelease], res.Tallies[KindBatchStart]
	if rel != nil && start != nil && start.Allowed > rel.Allowed {
		t.Errorf("%d batches started, %d released", start.Allowed, rel.Allowed)
	}
	if res.VerifyErr != nil || res.Verified == nil {
		t.Fatalf("verify: %v", res.VerifyErr)
	}
	if res.Verified.Records != res.Before+res.Records {
		t.Errorf("the store holds %d records; %d were there before and the commands appended %d", res.Verified.Records, res.Before, res.Records)
	}
	if !res.OK() {
		t.Error("OK() = false")
	}
	if !strings.Contains(out, "verify: ok") || !strings.Contains(out, "p99") {
		t.Errorf("output lacks the verification or the percentiles:\n%s", out)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestPlantOnMemory drives the plant on the memory store.
func TestPlantOnMemory(t *testing.T) {
	before := runtime.NumGoroutine()
	var out bytes.Buffer
	res, err := run(t.Context(), shortPlant(), &out)
	if err != nil {
		t.Fatal(err)
	}
	checkPlant(t, res, out.String())
	checkNoLeak(t, before)
}

// TestPlantOnPostgres drives the plant on Postgres in a schema loadgen
// makes, migrates and drops.
func TestPlantOnPostgres(t *testing.T) {
	pool := pgtest.Connect(t)
	c := shortPlant()
	c.Store, c.DatabaseURL, c.Schema = "postgres", os.Getenv(pgtest.EnvURL), testSchema(t)
	t.Cleanup(func() { pool.Exec(context.WithoutCancel(t.Context()), "DROP SCHEMA IF EXISTS "+c.Schema+" CASCADE") })
	var out bytes.Buffer
	res, err := run(t.Context(), c, &out)
	if err != nil {
		t.Fatal(err)
	}
	checkPlant(t, res, out.String())
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", c.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s is still there after the run", c.Schema)
	}
}

// TestAppends runs the raw append mode on both stores: every append
// succeeds and the store holds them all. On Postgres the schema is
// pgtest's, made beforehand and kept by loadgen (-drop=false).
func TestAppends(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		checkAppends(t, &Config{Mode: ModeAppends, Store: "memory", Writers: 4, Duration: 300 * time.Millisecond})
	})
	t.Run("postgres", func(t *testing.T) {
		pool := pgtest.Connect(t)
		checkAppends(t, &Config{Mode: ModeAppends, Store: "postgres", DatabaseURL: os.Getenv(pgtest.EnvURL), Schema: pgtest.Schema(t, pool),
			Migrate: true, Writers: 4, Duration: 500 * time.Millisecond})
	})
}

func checkAppends(t *testing.T, c *Config) {
	var out bytes.Buffer
	res, err := run(t.Context(), c, &out)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Tallies[KindAppend]
	if a == nil || a.Allowed == 0 || a.Failed != 0 || a.Submitted != a.Allowed || a.Records != a.Allowed {
		t.Errorf("appends: %+v", a)
	}
	if !res.OK() || !strings.Contains(out.String(), "appends/s:") {
		t.Errorf("run not OK:\n%s", out.String())
	}
}

func testSchema(t *testing.T) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "loadgen_test_" + hex.EncodeToString(b)
}

// checkNoLeak waits for the goroutines a run started (workers, simulated
// PLCs, pollers) to end.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines after the run, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInterruptEndsEarly: an interrupt (the context done) ends a run long
// before its duration, with no command cut off: the counts still add up
// and the store verifies.
func TestInterruptEndsEarly(t *testing.T) {
	c := shortPlant()
	c.Duration = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The interrupt comes 500ms after the plant starts, once the master
	// data is in, however long that took on a busy host.
	out := &interruptAfterStart{cancel: cancel}
	start := time.Now()
	res, err := run(ctx, c, out)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run took %v after an interrupt 500ms into it", d)
	}
	if !res.OK() {
		t.Errorf("run not OK after an interrupt:\n%s", out.String())
	}
}

// interruptAfterStart is the output of a run, which cancels the run 500ms
// after the run says the plant started.
type interruptAfterStart struct {
	bytes.Buffer
	cancel context.CancelFunc
	timer  *time.Timer
}

func (w *interruptAfterStart) Write(b []byte) (int, error) {
	if w.timer == nil && bytes.HasPrefix(b, []byte("plant on ")) {
		w.timer = time.AfterFunc(500*time.Millisecond, w.cancel)
	}
	return w.Buffer.Write(b)
}

// TestRunsShareASchema: two runs on one schema that loadgen neither makes
// nor drops (-migrate=false -drop=false the second time), as on a site
// whose app role cannot create schemas, each with its own master data.
func TestRunsShareASchema(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.Schema(t, pool)
	for i, migrate := range []bool{true, false} {
		c := &Config{Mode: ModePlant, Store: "postgres", DatabaseURL: os.Getenv(pgtest.EnvURL), Schema: schema, Migrate: migrate,
			Duration: 700 * time.Millisecond, Operators: 2, Scales: 1, PLCs: 1, Lots: 1, Checkweigh: true, Seed: int64(i)}
		var out bytes.Buffer
		res, err := run(t.Context(), c, &out)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if !res.OK() || !strings.Contains(out.String(), "kept") {
			t.Errorf("run %d not OK, or the schema not kept:\n%s", i+1, out.String())
		}
	}
}

// TestDriveStopsOnFailure: a worker that fails ends the run at once, the
// others at their next command, and its error names it.
func TestDriveStopsOnFailure(t *testing.T) {
	boom := errors.New("boom")
	ws := []worker{
		{name: "failing", fn: func(<-chan struct{}, tallies) error { return boom }},
		{name: "steady", fn: func(stop <-chan struct{}, ts tallies) error {
			for !stopped(stop) {
				ts.of(KindAppend).Submitted++
				time.Sleep(time.Millisecond)
			}
			return nil
		}},
	}
	start := time.Now()
	_, _, err := drive(t.Context(), &Config{Duration: time.Minute}, ws)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "failing: boom") {
		t.Errorf("drive = %v, want the failing worker's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("drive ran %v after a worker failed", d)
	}
}

// TestOutOfTolerance: the share of weighings out of tolerance is the
// rate asked for, spread evenly, the first weighing among them.
func TestOutOfTolerance(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want string // weighings 1 to 20, x for out of tolerance
	}{
		{0, "...................."},
		{0.2, "x....x....x....x...."},
		{0.5, "x.x.x.x.x.x.x.x.x.x."},
		{0.05, "x..................."},
		{1, "xxxxxxxxxxxxxxxxxxxx"},
	} {
		var got strings.Builder
		for n := 1; n <= 20; n++ {
			if outOfTolerance(n, tc.rate) {
				got.WriteByte('x')
			} else {
				got.WriteByte('.')
			}
		}
		if got.String() != tc.want {
			t.Errorf("rate %v: %s, want %s", tc.rate, got.String(), tc.want)
		}
	}
}
