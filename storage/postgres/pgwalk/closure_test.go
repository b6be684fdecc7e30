package pgwalk_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/postgres/pgwalk"
)

// env is a migrated schema with the walker installed, its store, and an
// appender that keeps each stream's version.
type env struct {
	pool   *pgxpool.Pool
	schema string
	store  *postgres.Store

	mu       sync.Mutex
	versions map[string]int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	st, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return &env{pool: pool, schema: schema, store: st, versions: map[string]int64{}}
}

// link appends one event on stream with links, each "from>to:kind".
func (e *env) link(ctx context.Context, stream string, links ...audit.Link) error {
	e.mu.Lock()
	v := e.versions[stream]
	e.versions[stream]++
	e.mu.Unlock()
	_, err := e.store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: stream, ExpectedVersion: v,
		Events: []storage.Event{{Type: "lot.linked", Actor: "op", Links: links}},
	}}})
	return err
}

func (e *env) mustLink(t *testing.T, stream string, links ...audit.Link) {
	t.Helper()
	if err := e.link(t.Context(), stream, links...); err != nil {
		t.Fatal(err)
	}
}

func (e *env) walker(t *testing.T, cfg pgwalk.Config) *pgwalk.Walker {
	t.Helper()
	cfg.Schema = e.schema
	w, err := pgwalk.New(e.pool, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) closures(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{e.schema}.Sanitize()+`.genealogy_closures`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func l(from, to, kind string) audit.Link { return audit.Link{From: from, To: to, Kind: kind} }

// tb is what agree needs of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// agree checks every walker's Traverse, and Reach's edges, against the
// store's Traverse for req.
func (e *env) agree(t tb, req storage.TraverseRequest, ws ...*pgwalk.Walker) {
	t.Helper()
	ctx := context.Background()
	want, err := e.store.Traverse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		got, err := w.Traverse(ctx, req)
		if err != nil {
			t.Fatalf("walker %d: %+v: %v", i, req, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("walker %d: %+v: Traverse vs store (-want +got):\n%s", i, req, diff)
		}
		refs, err := w.Reach(ctx, req)
		if err != nil {
			t.Fatalf("walker %d: %+v: Reach: %v", i, req, err)
		}
		var wantKeys, gotKeys [][2]int64
		for _, e := range want {
			wantKeys = append(wantKeys, [2]int64{int64(e.Depth), e.Position})
		}
		for _, r := range refs {
			gotKeys = append(gotKeys, [2]int64{int64(r.Depth), r.Position})
		}
		byKey := func(a, b [2]int64) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		}
		slices.SortFunc(wantKeys, byKey)
		slices.SortFunc(gotKeys, byKey)
		if diff := cmp.Diff(wantKeys, gotKeys, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("walker %d: %+v: Reach vs store, (position, depth) (-want +got):\n%s", i, req, diff)
		}
	}
}

// agreeAll runs agree for from both ways, at several depths and kinds.
func (e *env) agreeAll(t tb, from string, ws ...*pgwalk.Walker) {
	t.Helper()
	for _, d := range []storage.Direction{storage.Forward, storage.Backward} {
		for _, depth := range []int{1, 2, 3, storage.MaxTraverseDepth} {
			for _, kinds := range [][]string{nil, {"consumed"}, {"consumed", "produced"}} {
				e.agree(t, storage.TraverseRequest{From: []string{from}, Direction: d, MaxDepth: depth, Kinds: kinds}, ws...)
			}
		}
	}
}

// TestClosureStaysExact stores closures and then writes every kind of
// edge that changes one: edges out of reached nodes, an old subtree
// attached, a shortcut that brings a subtree nearer, cycles, a kind the
// closure did not have. After each, the walkers answer as the store does:
// one that stores closures at every read, one that stores one only when
// it has no closure, and one that never stores.
func TestClosureStaysExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// R feeds A0..A3, each A feeds a B, each B a C; X>Y>Z is apart.
	for i := range 4 {
		e.mustLink(t, fmt.Sprintf("A%d", i), l("R", fmt.Sprintf("A%d", i), "consumed"))
		e.mustLink(t, fmt.Sprintf("A%d", i), l(fmt.Sprintf("A%d", i), fmt.Sprintf("B%d", i), "produced"))
		e.mustLink(t, fmt.Sprintf("B%d", i), l(fmt.Sprintf("B%d", i), fmt.Sprintf("C%d", i), "consumed"))
	}
	e.mustLink(t, "Y", l("X", "Y", "consumed"), l("Y", "Z", "produced"))
	every := e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1})
	once := e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1})
	never := e.walker(t, pgwalk.Config{ClosureEdges: -1})
	ws := []*pgwalk.Walker{every, once, never}

	e.agreeAll(t, "R", ws...)
	e.agreeAll(t, "C2", ws...)
	if n := e.closures(t); n == 0 {
		t.Fatal("no closure stored")
	}
	steps := []struct {
		name  string
		links []audit.Link
	}{
		{"out of a reached node", []audit.Link{l("C0", "D0", "consumed")}},
		{"old subtree attached", []audit.Link{l("B1", "X", "produced")}},
		{"shortcut to a leaf", []audit.Link{l("R", "C3", "consumed")}},
		{"shortcut to a subtree", []audit.Link{l("A2", "X", "consumed")}},
		{"nearer still, in one event with its own edges", []audit.Link{l("R", "Z", "consumed"), l("Z", "W", "produced")}},
		{"cycle through the root", []audit.Link{l("Z", "R", "consumed")}},
		{"back edge", []audit.Link{l("D0", "A0", "produced")}},
		{"another kind", []audit.Link{l("C1", "H1", "concerns")}},
		{"far from everything", []audit.Link{l("P", "Q", "consumed")}},
	}
	for i, s := range steps {
		e.mustLink(t, fmt.Sprintf("S%d", i), s.links...)
		e.agreeAll(t, "R", ws...)
		e.agreeAll(t, "C2", ws...)
		if t.Failed() {
			t.Fatalf("after %s", s.name)
		}
	}
}

// TestClosureInFlightAppend: a closure stored while an append that
// extends it is in flight (its transaction began before the closure's
// snapshot and commits after) still gets that append's edges.
func TestClosureInFlightAppend(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	// Five edges out of R: more than the small walk's four rows.
	for i := range 5 {
		e.mustLink(t, fmt.Sprintf("A%d", i), l("R", fmt.Sprintf("A%d", i), "consumed"))
	}
	e.mustLink(t, "B", l("A0", "B", "produced"))
	w := e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1})

	// Hold the append in its trigger: it has its transaction id, its
	// event and its links, and waits to write the walker's edges.
	hold, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.WithoutCancel(ctx))
	if _, err := hold.Exec(ctx, `LOCK TABLE `+pgx.Identifier{e.schema, "genealogy_edges"}.Sanitize()+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.link(context.WithoutCancel(ctx), "C", l("B", "C", "consumed")) }()
	for waiting := false; !waiting; {
		err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND relation = $1::regclass)`,
			pgx.Identifier{e.schema, "genealogy_edges"}.Sanitize()).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("append finished while held: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	// A later transaction commits, so that the held one is inside the
	// closure's snapshot (below its xmax, in its running list), not past
	// it. It writes no links, so its trigger does not wait.
	if _, err := e.store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: "other", Events: []storage.Event{{Type: "note", Actor: "op"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	req := storage.TraverseRequest{From: []string{"R"}, Direction: storage.Forward, MaxDepth: 10}
	got, err := w.Reach(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || e.closures(t) != 1 {
		t.Fatalf("before the append commits: %d edges, %d closures; want 6 and 1", len(got), e.closures(t))
	}
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var running bool
	s := pgx.Identifier{e.schema}.Sanitize()
	if err := e.pool.QueryRow(ctx, `SELECT e.xid::text::xid8 IN (SELECT pg_snapshot_xip(c.snap) FROM `+s+`.genealogy_closures c)
		FROM `+s+`.genealogy_edges e JOIN `+s+`.genealogy_nodes n ON n.id = e.to_n WHERE n.name = 'C'`).Scan(&running); err != nil || !running {
		t.Fatalf("the closure's snapshot does not list the held append as running (%v)", err)
	}
	e.agree(t, req, w)
	if refs, _ := w.Reach(ctx, req); len(refs) != 7 {
		t.Errorf("after the append: %d edges, want 7", len(refs))
	}
}

// TestClosureConcurrentAppends: writers extend a bulk node's downstream
// while readers trace it, storing its closure again on every read with the
// snapshot each read had; once the writers are done, every walker answers
// as the store does.
func TestClosureConcurrentAppends(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	for i := range 20 {
		e.mustLink(t, fmt.Sprintf("B%d", i), l("BULK", fmt.Sprintf("B%d", i), "consumed"), l(fmt.Sprintf("B%d", i), fmt.Sprintf("L%d", i), "produced"))
	}
	reader := e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for wr := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				// A new batch consuming an earlier writer's lot or an
				// initial one, producing a lot of its own.
				batch := fmt.Sprintf("W%d-%d", wr, i)
				in := fmt.Sprintf("L%d", (wr*7+i)%20)
				if i > 0 && i%3 == 0 {
					in = fmt.Sprintf("W%d-%d-lot", (wr+1)%4, i-1)
				}
				if err := e.link(ctx, batch, l(in, batch, "consumed"), l(batch, batch+"-lot", "produced")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	for range 2 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reader.Reach(ctx, storage.TraverseRequest{From: []string{"BULK"}, Direction: storage.Forward, MaxDepth: storage.MaxTraverseDepth}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fresh := e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: -1})
	e.agreeAll(t, "BULK", reader, fresh)
}

// TestWalkerMatchesStore is a model-based test: random links among a few
// nodes, and after each a random trace, which every walker answers as the
// store's Traverse does, closures stored, merged and stored again.
func TestWalkerMatchesStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := []*pgwalk.Walker{
		e.walker(t, pgwalk.Config{}),
		e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 1}),
		e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: 1, ClosureDelta: 3}),
		e.walker(t, pgwalk.Config{SmallWalk: 1, ClosureEdges: -1}),
	}
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		node := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g"})
		kind := rapid.SampledFrom([]string{"consumed", "produced", "concerns"})
		name := func(n string) string { return fmt.Sprintf("r%d-%s", run, n) }
		for i := range rapid.IntRange(1, 12).Draw(rt, "steps") {
			links := make([]audit.Link, rapid.IntRange(1, 3).Draw(rt, "links"))
			for j := range links {
				links[j] = l(name(node.Draw(rt, "from")), name(node.Draw(rt, "to")), kind.Draw(rt, "kind"))
			}
			if err := e.link(context.Background(), fmt.Sprintf("r%d-s%d", run, i), links...); err != nil {
				rt.Fatal(err)
			}
			req := storage.TraverseRequest{
				From:      []string{name(node.Draw(rt, "start"))},
				Direction: rapid.SampledFrom([]storage.Direction{storage.Forward, storage.Backward}).Draw(rt, "direction"),
				MaxDepth:  rapid.SampledFrom([]int{1, 2, 3, 5, storage.MaxTraverseDepth}).Draw(rt, "depth"),
			}
			if rapid.Bool().Draw(rt, "kinds") {
				req.Kinds = []string{"consumed", "produced"}
			}
			e.agree(rt, req, ws...)
		}
	})
}
