package postgres_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// outcome is what a test compares of an append's result: the records but
// for their positions, which follow transaction ids, whether it replayed,
// and the kind of its error.
type outcome struct {
	Records  []audit.Record
	Replayed bool
	Err      string
}

func outcomeOf(res storage.AppendResult, err error) outcome {
	var o outcome
	if err != nil {
		var conflict *storage.ConflictError
		var clock *storage.ClockError
		switch {
		case errors.As(err, &conflict):
			o.Err = fmt.Sprintf("conflict %s expected %d actual %d", conflict.Stream, conflict.Expected, conflict.Actual)
		case errors.As(err, &clock):
			o.Err = fmt.Sprintf("clock %s", clock.Stream)
		case errors.Is(err, storage.ErrIdempotencyKeyReused):
			o.Err = "key reused"
		case errors.Is(err, storage.ErrInvalid):
			o.Err = "invalid: " + err.Error()
		default:
			o.Err = "other: " + err.Error()
		}
		return o
	}
	o.Replayed = res.Replayed
	for _, r := range res.Records {
		r.Position = 0
		o.Records = append(o.Records, r)
	}
	return o
}

// TestGroupMatchesSequential is the model test of group commit: random
// groups of appends (stale versions and reads, keys reused with the same
// and with other content, several streams, links) are written as one group
// on one store and one after another, each alone, on another. Every
// append's outcome is the same, and so is every stream.
func TestGroupMatchesSequential(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	newStore := func(off bool) *postgres.Store {
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock, GroupCommit: postgres.GroupCommit{Off: off}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	grouped, alone := newStore(false), newStore(true)
	var run atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		prefix := fmt.Sprintf("run-%d/", run.Add(1))
		streams := []string{prefix + "batch-1", prefix + "batch-2", prefix + "lot-1", prefix + "person-1"}
		keys := []string{"", "", prefix + "cmd-1", prefix + "cmd-2"}
		var reqs []storage.AppendRequest
		for range rapid.IntRange(2, 10).Draw(rt, "appends") {
			req := storage.AppendRequest{IdempotencyKey: rapid.SampledFrom(keys).Draw(rt, "key")}
			written := map[string]bool{}
			for range rapid.IntRange(1, 2).Draw(rt, "streams") {
				stream := rapid.SampledFrom(streams).Draw(rt, "stream")
				if written[stream] {
					continue
				}
				written[stream] = true
				sa := storage.StreamAppend{Stream: stream, ExpectedVersion: rapid.Int64Range(0, 3).Draw(rt, "expected")}
				for range rapid.IntRange(1, 2).Draw(rt, "events") {
					ev := storage.Event{Type: "step.completed", Actor: "op-1",
						Payload: []byte(fmt.Sprintf(`{"n":%d}`, rapid.IntRange(0, 1).Draw(rt, "payload")))}
					if rapid.Bool().Draw(rt, "link") {
						ev.Links = []audit.Link{{From: "lot/" + prefix + "L1", To: "batch/" + prefix + "B1", Kind: "consumed"}}
					}
					sa.Events = append(sa.Events, ev)
				}
				req.Streams = append(req.Streams, sa)
			}
			for _, r := range streams {
				if !written[r] && rapid.Bool().Draw(rt, "read "+r) {
					req.Reads = append(req.Reads, storage.StreamVersion{Stream: r, Version: rapid.Int64Range(0, 2).Draw(rt, "version")})
				}
			}
			reqs = append(reqs, req)
		}
		res, errs := postgres.AppendGroup(rt.Context(), grouped, reqs)
		for i, req := range reqs {
			wantRes, wantErr := alone.Append(rt.Context(), req)
			want, got := outcomeOf(wantRes, wantErr), outcomeOf(res[i], errs[i])
			if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				rt.Fatalf("append %d of %d %+v (-alone +grouped):\n%s", i+1, len(reqs), req, diff)
			}
		}
		for _, s := range streams {
			want, err := alone.Load(rt.Context(), s, 1)
			if err != nil {
				rt.Fatal(err)
			}
			got, err := grouped.Load(rt.Context(), s, 1)
			if err != nil {
				rt.Fatal(err)
			}
			ignore := cmpopts.IgnoreFields(audit.Record{}, "Position")
			if diff := gocmp.Diff(want, got, ignore, cmpopts.EquateEmpty()); diff != "" {
				rt.Fatalf("stream %s (-alone +grouped):\n%s", s, diff)
			}
		}
	})
	// The grouped store's record is whole: chains, heads and positions.
	verifyWhole(t, grouped)
}

// TestGroupCommitUnderContention runs 32 writers on 4 shared streams, each
// appending at the version it last saw, with keys, through a store with
// group commit on. Conflicts are expected; every append that succeeded is
// in the store, at its position, with its hash, exactly once; nothing else
// is; and groups of more than one append did form.
func TestGroupCommitUnderContention(t *testing.T) {
	t.Parallel()
	t.Run("owner", func(t *testing.T) {
		t.Parallel()
		pool, schema := pgtest.Pool(t)
		contend(t, pool, schema)
	})
	t.Run("app role", func(t *testing.T) {
		t.Parallel()
		l := pgtest.Roles(t)
		contend(t, l.App, l.Schema)
	})
}

func contend(t *testing.T, pool *pgxpool.Pool, schema string) {
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 32, 15
	streams := []string{"batch/B1", "batch/B2", "lot/L1", "equipment/SC-01"}
	var (
		mu        sync.Mutex
		successes []audit.Record
		wg        sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				stream := streams[(w+i)%len(streams)]
				v := int64(len(load(t, s, stream)))
				req := storage.AppendRequest{
					IdempotencyKey: fmt.Sprintf("w%d/%d", w, i),
					Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: v, Events: []storage.Event{{
						Type: "step.completed", Actor: "op-1", Payload: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)),
					}}}},
				}
				if w%3 == 0 {
					req.Reads = []storage.StreamVersion{{Stream: "person/op-1", Version: 0}}
				}
				res, err := s.Append(t.Context(), req)
				var conflict *storage.ConflictError
				switch {
				case err == nil:
					mu.Lock()
					successes = append(successes, res.Records...)
					mu.Unlock()
				case errors.As(err, &conflict):
				default:
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(successes) == 0 {
		t.Fatal("no append succeeded")
	}
	byPosition := map[int64]audit.Record{}
	for _, r := range successes {
		if _, dup := byPosition[r.Position]; dup {
			t.Fatalf("two appends returned position %d", r.Position)
		}
		byPosition[r.Position] = r
	}
	all, err := s.ReadAll(t.Context(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(successes) {
		t.Fatalf("store holds %d records, %d appends succeeded", len(all), len(successes))
	}
	for _, r := range all {
		want, ok := byPosition[r.Position]
		if !ok {
			t.Fatalf("record at %d (%s version %d) was not returned to any writer", r.Position, r.Stream, r.Version)
		}
		if diff := gocmp.Diff(want, r, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("record at %d (-returned +stored):\n%s", r.Position, diff)
		}
	}
	verifyWhole(t, s)
	if g := postgres.Groups(s); g == 0 {
		t.Fatal("no group of more than one append formed under 32 writers")
	} else {
		t.Logf("%d records from %d writers, %d groups of two or more", len(all), writers, g)
	}
}

// TestGroupCommitFailureFailsEveryMember holds a group behind a lock on the
// events table, then terminates its connection: every member gets
// storage.ErrOutcomeUnknown (a session ended by the server may have ended
// after the commit), and here, where it ended before, nothing of the group
// is written.
func TestGroupCommitFailureFailsEveryMember(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	lock := lockEvents(t, pool, schema)
	reqs := []storage.AppendRequest{benchAppend("batch/B1", 0), benchAppend("batch/B2", 0), benchAppend("batch/B3", 0)}
	reqs[1].IdempotencyKey = "cmd-2"
	type result struct{ errs []error }
	done := make(chan result, 1)
	go func() {
		_, errs := postgres.AppendGroup(ctx, s, reqs)
		done <- result{errs}
	}()
	// Wait for the group to wait for the lock, then end its session.
	deadline := time.Now().Add(10 * time.Second)
	var terminated bool
	for !terminated && time.Now().Before(deadline) {
		if err := pool.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
			WHERE query LIKE '%append_group%' AND position($1 in query) > 0 AND wait_event_type = 'Lock'
			AND pid <> pg_backend_pid()`, schema).Scan(&terminated); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !terminated {
		t.Fatal("the group never waited for the lock")
	}
	r := <-done
	for i, err := range r.errs {
		if err == nil {
			t.Fatalf("append %d of a failed group succeeded", i+1)
		}
		if !errors.Is(err, storage.ErrOutcomeUnknown) {
			t.Fatalf("append %d: %v; want the group's failure, an unknown outcome", i+1, err)
		}
		t.Logf("append %d: %v", i+1, err)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Fatalf("a failed group wrote %d records", len(all))
	}
	// The store goes on: the same appends, alone, succeed.
	for _, req := range reqs {
		if _, err := s.Append(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGroupCommitCancelled cancels an append while it waits behind a group
// being written: it returns its context's error, and is never written.
func TestGroupCommitCancelled(t *testing.T) {
	t.Parallel()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait, GroupCommit: postgres.GroupCommit{Writers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	lock := lockEvents(t, pool, schema)
	// The first append is written alone, and waits for the lock.
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, benchAppend("batch/B1", 0))
		first <- err
	}()
	pgtest.WaitForLockWait(t, pool, schema)
	// The second waits in the queue: the one writer is busy.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.Append(cctx, benchAppend("batch/B2", 0))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("queued append cancelled: %v; want the context's error, outcome known", err)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if recs := load(t, s, "batch/B2"); len(recs) != 0 {
		t.Fatalf("the cancelled append was written: %v", recs)
	}
}

// verifyWhole verifies every record of s and fails on any break.
func verifyWhole(t *testing.T, s storage.Reader) {
	t.Helper()
	rep, err := storage.Verify(t.Context(), s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Breaks) > 0 {
		t.Fatalf("%d breaks, the first: %v", len(rep.Breaks), rep.Breaks[0])
	}
	if rep.Records == 0 {
		t.Fatal("verified no record")
	}
}

// TestGroupCommitConcurrentModel runs random appends from concurrent
// writers through group commit (stale versions, asserted reads, keys
// reused with the same and with other content), then checks every outcome
// against a sequential model: replayed in position order, each append that
// succeeded succeeds in the model at that point; each conflict names a
// version its stream had and not the one expected; each replay returns
// what the first append with its key wrote; each reused key was first used
// with other content; and the store holds exactly the appends that
// succeeded.
func TestGroupCommitConcurrentModel(t *testing.T) {
	t.Parallel()
	// One writer, the default; three, where groups overlap and the one
	// that started first loses members to the one that commits first.
	for _, writers := range []int{1, 3} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			t.Parallel()
			concurrentModel(t, postgres.GroupCommit{Window: 200 * time.Microsecond, Writers: writers})
		})
	}
}

func concurrentModel(t *testing.T, g postgres.GroupCommit) {
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait, GroupCommit: g})
	if err != nil {
		t.Fatal(err)
	}
	var run atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		prefix := fmt.Sprintf("run-%d/", run.Add(1))
		streams := []string{prefix + "batch-1", prefix + "batch-2", prefix + "lot-1"}
		keys := []string{prefix + "cmd-1", prefix + "cmd-2", prefix + "cmd-3"}
		type attempt struct {
			req storage.AppendRequest
			res storage.AppendResult
			err error
		}
		writers := rapid.IntRange(2, 8).Draw(rt, "writers")
		plans := make([][]attempt, writers)
		for w := range plans {
			for range rapid.IntRange(1, 6).Draw(rt, "appends") {
				req := storage.AppendRequest{Streams: []storage.StreamAppend{{
					Stream: rapid.SampledFrom(streams).Draw(rt, "stream"), ExpectedVersion: rapid.Int64Range(-1, 4).Draw(rt, "expected"),
					Events: []storage.Event{{Type: "step.completed", Actor: "op-1",
						Payload: []byte(fmt.Sprintf(`{"n":%d}`, rapid.IntRange(0, 1).Draw(rt, "payload")))}},
				}}}
				if rapid.IntRange(0, 2).Draw(rt, "keyed") == 0 {
					req.IdempotencyKey = rapid.SampledFrom(keys).Draw(rt, "key")
				}
				if r := rapid.SampledFrom(streams).Draw(rt, "read"); r != req.Streams[0].Stream && rapid.Bool().Draw(rt, "reads") {
					req.Reads = []storage.StreamVersion{{Stream: r, Version: rapid.Int64Range(0, 3).Draw(rt, "read version")}}
				}
				plans[w] = append(plans[w], attempt{req: req})
			}
		}
		var wg sync.WaitGroup
		for w := range plans {
			wg.Go(func() {
				for i := range plans[w] {
					a := &plans[w][i]
					// -1: the version this writer sees now.
					if a.req.Streams[0].ExpectedVersion < 0 {
						recs, err := s.Load(context.Background(), a.req.Streams[0].Stream, 1)
						if err != nil {
							a.err = err
							return
						}
						a.req.Streams[0].ExpectedVersion = int64(len(recs))
					}
					a.res, a.err = s.Append(context.Background(), a.req)
				}
			})
		}
		wg.Wait()

		// The model: appends that wrote, in position order.
		var wrote []*attempt
		var all []*attempt
		for w := range plans {
			for i := range plans[w] {
				a := &plans[w][i]
				all = append(all, a)
				if a.err == nil && !a.res.Replayed {
					wrote = append(wrote, a)
				}
			}
		}
		slices.SortFunc(wrote, func(a, b *attempt) int { return cmp.Compare(a.res.Records[0].Position, b.res.Records[0].Position) })
		versions := map[string]int64{}
		history := map[string][]int64{} // every version each stream had
		firstByKey := map[string]*attempt{}
		for _, st := range streams {
			history[st] = []int64{0}
		}
		for _, a := range wrote {
			sa := a.req.Streams[0]
			if versions[sa.Stream] != sa.ExpectedVersion {
				rt.Fatalf("append at %d wrote %s expecting version %d; the model has it at %d", a.res.Records[0].Position, sa.Stream, sa.ExpectedVersion, versions[sa.Stream])
			}
			for _, r := range a.req.Reads {
				if versions[r.Stream] != r.Version {
					rt.Fatalf("append at %d read %s at %d; the model has it at %d", a.res.Records[0].Position, r.Stream, r.Version, versions[r.Stream])
				}
			}
			if k := a.req.IdempotencyKey; k != "" {
				if _, dup := firstByKey[k]; dup {
					rt.Fatalf("key %s wrote twice", k)
				}
				firstByKey[k] = a
			}
			versions[sa.Stream]++
			history[sa.Stream] = append(history[sa.Stream], versions[sa.Stream])
		}
		for _, a := range all {
			var conflict *storage.ConflictError
			switch {
			case a.err == nil && a.res.Replayed:
				first := firstByKey[a.req.IdempotencyKey]
				if first == nil {
					rt.Fatalf("replay of key %q that never wrote", a.req.IdempotencyKey)
				}
				if diff := gocmp.Diff(first.res.Records, a.res.Records, cmpopts.EquateEmpty()); diff != "" {
					rt.Fatalf("replay of %q (-first +replay):\n%s", a.req.IdempotencyKey, diff)
				}
			case a.err == nil:
			case errors.As(a.err, &conflict):
				if conflict.Actual == conflict.Expected || !slices.Contains(history[conflict.Stream], conflict.Actual) {
					rt.Fatalf("conflict on %s: expected %d, actual %d; the stream had %v", conflict.Stream, conflict.Expected, conflict.Actual, history[conflict.Stream])
				}
			case errors.Is(a.err, storage.ErrIdempotencyKeyReused):
				if firstByKey[a.req.IdempotencyKey] == nil {
					rt.Fatalf("key %q refused as reused, but no append wrote it", a.req.IdempotencyKey)
				}
			default:
				rt.Fatalf("append %+v: %v", a.req, a.err)
			}
		}
		for _, st := range streams {
			if got := int64(len(load(t, s, st))); got != versions[st] {
				rt.Fatalf("stream %s holds %d records; %d appends wrote it", st, got, versions[st])
			}
		}
	})
	verifyWhole(t, s)
	t.Logf("%d groups of two or more", postgres.Groups(s))
}

// lockEvents locks schema's events table against every append, in a
// transaction rolled back when t ends, if not before.
func lockEvents(t *testing.T, pool *pgxpool.Pool, schema string) pgx.Tx {
	t.Helper()
	lock, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Rollback(context.Background()) })
	if _, err := lock.Exec(t.Context(), fmt.Sprintf(`LOCK TABLE %q.events IN EXCLUSIVE MODE`, schema)); err != nil {
		t.Fatal(err)
	}
	return lock
}
