package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/interlock-mes/interlock/storage"
)

// appendPayload is the event each raw append writes: about 200 bytes, as
// the store benchmarks and the pgbench baseline write.
var appendPayload = json.RawMessage(`{"batch":"B-2026-0042","step":"weigh-api","lot":"LOT-2026-0042","quantity":"12.500","unit":"kg","operator":"op-17","scale":"SC-01","stable":true,"note":"two hundred bytes of payload for the pgbench baseline"}`)

// runAppends has cfg.Writers goroutines append one event at a time, each
// to a stream of its own at the version it expects, until the time is up:
// what the store sustains with no engine in front of it.
func runAppends(ctx context.Context, cfg *Config, store storage.Store, w io.Writer) (*Result, error) {
	wctx := ctx
	ctx = context.WithoutCancel(ctx)
	var workers []worker
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	for i := range cfg.Writers {
		workers = append(workers, worker{name: fmt.Sprintf("writer %d", i+1), fn: func(stop <-chan struct{}, ts tallies) error {
			return appender(ctx, stop, store, fmt.Sprintf("bench/%s-%d", run, i+1), ts.of(KindAppend))
		}})
	}
	fmt.Fprintf(w, "appends on %s: %d writers, for %v\n", cfg.Store, cfg.Writers, cfg.Duration)
	total, elapsed, werr := drive(wctx, cfg, workers)
	res := &Result{Elapsed: elapsed, Tallies: total, WorkerErr: werr}
	for _, t := range total {
		res.Records += t.Records
	}
	report(w, res)
	if t := total[KindAppend]; t != nil {
		fmt.Fprintf(w, "appends/s: %.0f\n", float64(t.Allowed)/elapsed.Seconds())
	}
	return res, nil
}

// appender appends to stream until stop. Each append expects the
// stream's version and carries no idempotency key, as the store's own
// append benchmark: the stream is the writer's own, so nothing conflicts,
// and an append whose outcome is unknown is not retried but counted as
// failed.
func appender(ctx context.Context, stop <-chan struct{}, store storage.Store, stream string, t *tally) error {
	for v := int64(0); !stopped(stop); v++ {
		req := storage.AppendRequest{Streams: []storage.StreamAppend{{
			Stream: stream, ExpectedVersion: v, Events: []storage.Event{{Type: "bench.appended", Actor: "loadgen", Payload: appendPayload}}}}}
		t.Submitted++
		start := time.Now()
		res, err := store.Append(ctx, req)
		t.Latency = append(t.Latency, time.Since(start))
		if err != nil {
			t.Failed++
			if errors.Is(err, storage.ErrOutcomeUnknown) {
				t.Unknown++
			}
			if len(t.Errors) < 5 {
				t.Errors = append(t.Errors, err.Error())
			}
			return err
		}
		t.Allowed++
		t.Records += int64(len(res.Records))
	}
	return nil
}
