package mes_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// The environment a worker process of TestTwoInstancesOneDatabase reads.
const (
	envWorkerSchema = "INTERLOCK_TEST_WORKER_SCHEMA"
	envWorkerID     = "INTERLOCK_TEST_WORKER_ID"
)

const (
	sharedLots      = 3
	lotKg           = 100
	batchesPerProc  = 30
	kgPerBatch      = 7
	instanceWorkers = 2
)

// TestTwoInstancesOneDatabase runs two processes, each an engine of its own,
// against one Postgres schema, starting batches that take 7 kg each from
// three shared 100 kg lots until they run out. Every lot ends with exactly
// what the allowed commands took and never below zero (no over-consumption,
// no lost update: the gates' reads are asserted at append), every refusal
// is on the record, every record verifies with its attestation, and the
// global feed returns every record once, in order, each stream's versions
// consecutive.
func TestTwoInstancesOneDatabase(t *testing.T) {
	if os.Getenv(envWorkerSchema) != "" {
		t.Skip("a worker process does not start workers")
	}
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	clock := mestest.NewClock(mestest.Now)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock.Now, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	env := mestest.NewOn(t, s, clock, nil).Plant()
	for i := range sharedLots {
		lot := event.LotStream(fmt.Sprintf("S%d", i))
		env.Fact("lot", lot, mes.CmdReceive, event.Receipt{Material: "API-100", Quantity: decimal.NewFromInt(lotKg), Unit: "kg", Expiry: mestest.Now.Add(90 * 24 * time.Hour)})
		env.Fact("lot", lot, mes.CmdRelease, nil)
	}
	procs := make([]*exec.Cmd, instanceWorkers)
	outs := make([]*strings.Builder, instanceWorkers)
	for w := range procs {
		outs[w] = &strings.Builder{}
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestInstanceWorker$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envWorkerSchema+"="+schema, envWorkerID+"="+strconv.Itoa(w))
		cmd.Stdout, cmd.Stderr = outs[w], outs[w]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[w] = cmd
	}
	for w, cmd := range procs {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", w, err, outs[w])
		}
		if !strings.Contains(outs[w].String(), "--- PASS: TestInstanceWorker") {
			t.Fatalf("worker %d did not run:\n%s", w, outs[w])
		}
	}

	// Each lot: what its consumption records took equals what the
	// allowed batch starts took from it, and never more than it held.
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	allowed := map[string]decimal.Decimal{}
	denied, started := 0, 0
	for w := range instanceWorkers {
		for i := range batchesPerProc {
			recs := mestest.Must[[]audit.Record](t)(s.Load(ctx, fmt.Sprintf("batch/W%d-%d", w, i), 1))
			st := mestest.Must[mes.State](t)(mes.Fold(batch, "", recs))
			if st == lifecycle.BatchInProgress {
				started++
				allowed[workerLot(w, i)] = allowed[workerLot(w, i)].Add(decimal.NewFromInt(kgPerBatch))
			} else if len(recs) > 0 && recs[len(recs)-1].Type == event.Denied {
				denied++
			}
		}
	}
	if started == 0 || denied == 0 || started+denied != instanceWorkers*batchesPerProc {
		t.Fatalf("%d batches started and %d denied of %d; want both, every one accounted for", started, denied, instanceWorkers*batchesPerProc)
	}
	for i := range sharedLots {
		lot := fmt.Sprintf("S%d", i)
		taken := decimal.Zero
		for _, r := range mestest.Must[[]audit.Record](t)(s.Load(ctx, event.LotStream(lot), 1)) {
			if r.Type == event.LotConsumed {
				taken = taken.Add(decimal.NewFromInt(kgPerBatch))
			}
		}
		if !taken.Equal(allowed[lot]) || taken.GreaterThan(decimal.NewFromInt(lotKg)) {
			t.Errorf("lot %s: %s kg in consumption records, %s kg by allowed starts, %d kg held", lot, taken, allowed[lot], lotKg)
		}
	}
	rep, err := storage.VerifyWith(ctx, s, storage.VerifyConfig{Attestation: env.Attestation})
	if err != nil || len(rep.Breaks) > 0 || rep.Unattested > 0 {
		t.Fatalf("verification: %+v, %v", rep, err)
	}
	// The feed: every record once, in global order, streams consecutive.
	var last int64
	versions := map[string]int64{}
	var n int64
	for {
		page := mestest.Must[[]audit.Record](t)(s.ReadAll(ctx, last, 97))
		for _, r := range page {
			if r.Position <= last {
				t.Fatalf("feed: position %d after %d", r.Position, last)
			}
			if r.Version != versions[r.Stream]+1 {
				t.Fatalf("feed: %s v%d after v%d", r.Stream, r.Version, versions[r.Stream])
			}
			last, versions[r.Stream] = r.Position, r.Version
			n++
		}
		if len(page) < 97 {
			break
		}
	}
	if n != rep.Records {
		t.Errorf("the feed returned %d records; verification saw %d", n, rep.Records)
	}
}

// workerLot is the shared lot batch i of worker w takes from.
func workerLot(w, i int) string { return fmt.Sprintf("S%d", (w+i)%sharedLots) }

// TestInstanceWorker is one instance of TestTwoInstancesOneDatabase: it
// runs only in the processes that test starts.
func TestInstanceWorker(t *testing.T) {
	schema := os.Getenv(envWorkerSchema)
	if schema == "" {
		t.Skip("runs as a worker process of TestTwoInstancesOneDatabase")
	}
	w, err := strconv.Atoi(os.Getenv(envWorkerID))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool := pgtest.Connect(t)
	clock := mestest.NewClock(mestest.Now)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock.Now, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e, err := mes.New(s, &mes.Config{Clock: clock.Now, Attestation: mestest.Attestation(), MaxRetries: 50})
	if err != nil {
		t.Fatal(err)
	}
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	for i := range batchesPerProc {
		subject := fmt.Sprintf("batch/W%d-%d", w, i)
		if _, err := e.Execute(ctx, mes.Request{ID: subject + "/release", Model: batch, Subject: subject, Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			t.Fatalf("%s release: %v", subject, err)
		}
		_, err := e.Execute(ctx, mes.Request{ID: subject + "/start", Model: batch, Subject: subject, Command: mes.CmdStart, Actor: "op-7",
			Consume: []event.Consumption{{Lot: workerLot(w, i), Quantity: decimal.NewFromInt(kgPerBatch), Unit: "kg"}}})
		if err != nil && !strings.Contains(err.Error(), string(mes.CodeOverConsumption)) {
			t.Fatalf("%s start: %v", subject, err)
		}
	}
}
