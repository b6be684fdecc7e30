package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Kind names a kind of command, the unit the report counts and times.
type Kind string

// The kinds of command a run gives.
const (
	KindSeed          Kind = "seed"           // master data, before the clock starts
	KindBatchRelease  Kind = "batch.release"  // a supervisor releases a batch to the floor
	KindBatchStart    Kind = "batch.start"    // an operator starts it, bound to the route
	KindStepStart     Kind = "step.start"     // a route step starts (the weighing scans its lot)
	KindStepComplete  Kind = "step.complete"  // a route step completes with its evidence
	KindBatchComplete Kind = "batch.complete" // the batch completes, producing its lot
	KindCheckweigh    Kind = "scale.weight"   // a checkweigher's streamed weight
	KindPackML        Kind = "plc.packml"     // a PLC's PackML state change
	KindCalibrate     Kind = "scale.calibrate"
	KindAppend        Kind = "append" // -mode appends: one raw store append
)

// kinds is the order of the report's rows.
var kinds = []Kind{KindBatchRelease, KindBatchStart, KindStepStart, KindStepComplete, KindBatchComplete,
	KindCheckweigh, KindPackML, KindCalibrate, KindAppend}

// tally is what one kind of command came to. Every command submitted ends
// in exactly one of Allowed, Denied and Failed.
type tally struct {
	Submitted int64 // commands submitted
	Allowed   int64 // recorded as allowed transitions
	Denied    int64 // denied by a gate, the denial recorded
	Failed    int64 // nothing decided after every retry (see Errors)
	// Conflicts counts the times the engine gave up on a command after its
	// own retries (storage.ErrConflict) and loadgen submitted it again;
	// Unknown the times an outcome was unknown and loadgen submitted it
	// again with the same id; Replayed the resubmissions that found the
	// command already recorded.
	Conflicts, Unknown, Replayed int64
	// Retries counts the engine's own evaluations again after a stream
	// it read moved (conflicts it resolved alone).
	Retries int64
	Records int64 // records the commands appended
	// Latency is each command's time from submission to its outcome,
	// resubmissions included.
	Latency []time.Duration
	Errors  []string // the first few failures
}

func (t *tally) add(o *tally) {
	t.Submitted += o.Submitted
	t.Allowed += o.Allowed
	t.Denied += o.Denied
	t.Failed += o.Failed
	t.Conflicts += o.Conflicts
	t.Unknown += o.Unknown
	t.Replayed += o.Replayed
	t.Retries += o.Retries
	t.Records += o.Records
	t.Latency = append(t.Latency, o.Latency...)
	if len(t.Errors) < 5 {
		t.Errors = append(t.Errors, o.Errors[:min(len(o.Errors), 5-len(t.Errors))]...)
	}
}

// tallies is one worker's tallies by kind; each worker has its own, so
// counting takes no lock, and the run adds them up at the end.
type tallies map[Kind]*tally

func (ts tallies) of(k Kind) *tally {
	t := ts[k]
	if t == nil {
		t = &tally{}
		ts[k] = t
	}
	return t
}

// retryCounter counts the engine's retries by kind of command: the engine
// logs each at Debug as "command retried", and the kind travels in the
// command's context.
type retryCounter struct {
	n map[Kind]*atomic.Int64
}

func newRetryCounter() *retryCounter {
	rc := &retryCounter{n: map[Kind]*atomic.Int64{}}
	for _, k := range append([]Kind{KindSeed}, kinds...) {
		rc.n[k] = new(atomic.Int64)
	}
	return rc
}

type kindKey struct{}

func withKind(ctx context.Context, k Kind) context.Context {
	return context.WithValue(ctx, kindKey{}, k)
}

// handler is the slog.Handler the engine logs to: it counts retries and
// drops everything else.
func (rc *retryCounter) handler() slog.Handler { return retryHandler{rc} }

type retryHandler struct{ rc *retryCounter }

func (retryHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h retryHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "command retried" {
		if k, ok := ctx.Value(kindKey{}).(Kind); ok && h.rc.n[k] != nil {
			h.rc.n[k].Add(1)
		}
	}
	return nil
}
func (h retryHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h retryHandler) WithGroup(string) slog.Handler      { return h }

// percentile returns the q-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// printTallies writes the report's table: per kind, the outcomes, the
// rates over elapsed, and the latency percentiles.
func printTallies(w io.Writer, total map[Kind]*tally, elapsed time.Duration) {
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "%-16s %9s %9s %7s %6s %8s %8s %10s %10s %9s %9s %9s %9s\n",
		"kind", "commands", "allowed", "denied", "failed", "retries", "resubmit", "cmds/s", "events/s", "p50", "p90", "p99", "max")
	var all tally
	for _, k := range kinds {
		t := total[k]
		if t == nil || t.Submitted == 0 {
			continue
		}
		printRow(w, string(k), t, secs)
		all.add(t)
	}
	all.Latency = nil
	printRow(w, "all", &all, secs)
}

func printRow(w io.Writer, name string, t *tally, secs float64) {
	slices.Sort(t.Latency)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
	p50, p90, p99, mx := "-", "-", "-", "-"
	if len(t.Latency) > 0 {
		p50, p90, p99, mx = ms(percentile(t.Latency, .5)), ms(percentile(t.Latency, .9)), ms(percentile(t.Latency, .99)), ms(t.Latency[len(t.Latency)-1])
	}
	fmt.Fprintf(w, "%-16s %9d %9d %7d %6d %8d %8d %10.0f %10.0f %9s %9s %9s %9s\n", name, t.Submitted, t.Allowed, t.Denied, t.Failed,
		t.Retries, t.Conflicts+t.Unknown, float64(t.Submitted)/secs, float64(t.Records)/secs, p50, p90, p99, mx)
}
