package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/storage"
)

// Result is what a run came to.
type Result struct {
	Elapsed time.Duration
	// Tallies are the commands (or, in ModeAppends, the appends) by kind,
	// the master data's under KindSeed.
	Tallies map[Kind]*tally
	// Before is how many records the store held before the run, and
	// Records what the tallies say the run appended; Verified is what the
	// store holds after, as verification read it: Before + Records.
	Before, Records int64
	Verified        *storage.Report
	// VerifyErr is why verification failed, if it did.
	VerifyErr error
	// WorkerErr joins the errors that stopped workers, each naming its
	// worker.
	WorkerErr error

	verify storage.VerifyConfig // what verification checks
	rates  string               // the last line of the report
}

// OK says whether the run passed its checks: no worker failed, no command
// failed, the store verified, and it holds exactly the records the
// commands appended.
func (r *Result) OK() bool {
	if r.WorkerErr != nil || r.VerifyErr != nil || r.Verified == nil || r.Verified.Records != r.Before+r.Records {
		return false
	}
	for _, t := range r.Tallies {
		if t.Failed > 0 || t.Submitted != t.Allowed+t.Denied+t.Failed {
			return false
		}
	}
	return true
}

// run drives the load cfg describes, prints its report to w, and returns
// the result. It returns an error only when the run could not be made:
// a store that does not open, master data that cannot be recorded.
func run(ctx context.Context, cfg *Config, w io.Writer) (res *Result, err error) {
	store, closeStore, err := openStore(ctx, cfg, w)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	before, err := count(ctx, store)
	if err != nil {
		return nil, err
	}
	if cfg.Mode == ModeAppends {
		res, err = runAppends(ctx, cfg, store, w)
	} else {
		res, err = runPlant(ctx, cfg, store, w)
	}
	if err != nil {
		return nil, err
	}
	res.Before = before
	res.Verified, res.VerifyErr = storage.VerifyWith(context.WithoutCancel(ctx), store, res.verify)
	printVerify(w, res)
	if res.rates != "" {
		fmt.Fprintln(w, res.rates)
	}
	return res, nil
}

// count returns how many records s holds: a stream's head version is its
// number of records.
func count(ctx context.Context, s storage.Reader) (int64, error) {
	heads, err := s.Heads(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the store's heads: %w", err)
	}
	var n int64
	for _, h := range heads {
		n += h.Version
	}
	return n, nil
}

// worker is one goroutine of a run, with its own tallies.
type worker struct {
	name string
	ts   tallies
	fn   func(stop <-chan struct{}, ts tallies) error
}

// drive runs the workers for cfg.Duration, or until ctx is done (an
// interrupt) or a worker fails, and returns their tallies added up, the time they ran, and
// the errors that stopped any of them. Workers finish the command they
// are on either way.
func drive(ctx context.Context, cfg *Config, workers []worker) (map[Kind]*tally, time.Duration, error) {
	stop := make(chan struct{})
	failed := make(chan struct{}) // closed by the first worker that fails
	var once sync.Once
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		workers[i].ts = tallies{}
		wg.Go(func() {
			if err := workers[i].fn(stop, workers[i].ts); err != nil && !errors.Is(err, errStop) {
				errs[i] = fmt.Errorf("%s: %w", workers[i].name, err)
				once.Do(func() { close(failed) })
			}
		})
	}
	// A failed worker ends the run: its figures would not be the plant's.
	timer := time.NewTimer(cfg.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
	case <-failed:
	}
	timer.Stop()
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	total := map[Kind]*tally{}
	for _, wk := range workers {
		for k, t := range wk.ts {
			if total[k] == nil {
				total[k] = &tally{}
			}
			total[k].add(t)
		}
	}
	return total, elapsed, errors.Join(errs...)
}

func runPlant(ctx context.Context, cfg *Config, store storage.Store, w io.Writer) (*Result, error) {
	if err := checkCycle(); err != nil {
		return nil, err
	}
	p, err := newPlant(ctx, cfg, store)
	if err != nil {
		return nil, err
	}
	// An interrupt ends the run early, but no command is cut off: the
	// workers' commands run on a context it does not cancel.
	wctx := ctx
	ctx = context.WithoutCancel(ctx)
	var workers []worker
	for i := range cfg.Operators {
		workers = append(workers, worker{name: p.operatorID(i), fn: func(stop <-chan struct{}, ts tallies) error { return p.operator(ctx, stop, i, ts) }})
	}
	for i := range cfg.Scales * boolInt(cfg.Checkweigh) {
		workers = append(workers, worker{name: "checkweigher " + p.scaleID(i), fn: func(stop <-chan struct{}, ts tallies) error { return p.checkweigher(ctx, stop, i, ts) }})
	}
	for i := range cfg.PLCs {
		workers = append(workers, worker{name: "machine " + p.machineID(i), fn: func(stop <-chan struct{}, ts tallies) error { return p.runMachine(ctx, stop, i, ts) }})
	}
	if cfg.Recalibrate > 0 && cfg.Scales > 0 {
		workers = append(workers, worker{name: "recalibrator", fn: func(stop <-chan struct{}, ts tallies) error { return p.recalibrator(ctx, stop, ts) }})
	}
	fmt.Fprintf(w, "plant on %s: %d operators, %d scales, %d PLCs, %d lots, for %v\n", cfg.Store, cfg.Operators, cfg.Scales, cfg.PLCs, cfg.Lots, cfg.Duration)
	total, elapsed, werr := drive(wctx, cfg, workers)
	total[KindSeed] = p.seed[KindSeed]
	for k, n := range p.retries.n {
		if t := total[k]; t != nil {
			t.Retries = n.Load()
		}
	}
	res := &Result{Elapsed: elapsed, Tallies: total, WorkerErr: werr}
	for _, t := range total {
		res.Records += t.Records
	}
	report(w, res)
	res.verify = storage.VerifyConfig{Attestation: p.attestation}
	var ops, devices int64
	var opLatency []time.Duration
	for _, k := range []Kind{KindBatchRelease, KindBatchStart, KindStepStart, KindStepComplete, KindBatchComplete} {
		if t := total[k]; t != nil {
			ops += t.Allowed
			opLatency = append(opLatency, t.Latency...)
		}
	}
	slices.Sort(opLatency)
	for _, k := range []Kind{KindCheckweigh, KindPackML} {
		if t := total[k]; t != nil {
			devices += t.Allowed
		}
	}
	res.rates = fmt.Sprintf("rates: operator transitions/s %.0f, device events/s %.0f (allowed; denials apart); operator command p99 %.2fms",
		float64(ops)/elapsed.Seconds(), float64(devices)/elapsed.Seconds(), float64(percentile(opLatency, .99))/1e6)
	return res, nil
}

// report prints the table, the failures and the worker errors.
func report(w io.Writer, res *Result) {
	fmt.Fprintf(w, "ran %.1fs\n", res.Elapsed.Seconds())
	printTallies(w, res.Tallies, res.Elapsed)
	fmt.Fprintln(w, "retries: the engine evaluated a command again after a stream it read moved; resubmit: loadgen submitted it again (conflict the engine gave up on, or unknown outcome)")
	for _, k := range append([]Kind{KindSeed}, kinds...) {
		if t := res.Tallies[k]; t != nil {
			for _, e := range t.Errors {
				fmt.Fprintf(w, "failed %s: %s\n", k, e)
			}
		}
	}
	if res.WorkerErr != nil {
		fmt.Fprintf(w, "worker stopped: %v\n", res.WorkerErr)
	}
}

func printVerify(w io.Writer, res *Result) {
	what := "each attested by the engine"
	if res.verify.Attestation == nil {
		what = "no engine, so no attestations"
	}
	switch {
	case res.VerifyErr != nil:
		fmt.Fprintf(w, "verify: FAILED: %v\n", res.VerifyErr)
	case res.Verified.Records != res.Before+res.Records:
		fmt.Fprintf(w, "verify: %d records in %d streams, chains intact, but %d were there before and the run appended %d: MISMATCH\n",
			res.Verified.Records, res.Verified.Streams, res.Before, res.Records)
	default:
		fmt.Fprintf(w, "verify: ok, %d records in %d streams, %s; %d were there before, the run appended the rest\n",
			res.Verified.Records, res.Verified.Streams, what, res.Before)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func jsonOf(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return b, err
}
