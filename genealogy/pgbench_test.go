package genealogy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy/pgwalk"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

type pgBench struct {
	pool   *pgxpool.Pool
	schema string
	store  *postgres.Store
	walker *pgwalk.Walker
}

var (
	pgOnce sync.Once
	pgb    pgBench
)

// loadPG copies the benchmark plant from the memory store into a fresh
// schema: events in batches of INSERT ... SELECT FROM unnest, links with
// COPY, heads last, then the walker's tables by Install's backfill, then
// VACUUM ANALYZE so that the walks are index-only. It bypasses Append for
// speed (the records and their hashes are the memory store's), which only
// a benchmark may do.
func loadPG(b *testing.B) *pgBench {
	b.Helper()
	bp := loadBench(b)
	pgOnce.Do(func() {
		ctx := context.Background()
		pool, schema := pgtest.Pool(b)
		q := pgx.Identifier{schema}.Sanitize()
		var (
			pos, ver           []int64
			stream, typ, actor []string
			payload, evidence  []string
			prev, hash         [][]byte
			times              []any
			links              [][]any
			heads              = map[string]audit.Head{}
		)
		flush := func() error {
			if len(pos) == 0 {
				return nil
			}
			_, err := pool.Exec(ctx, `INSERT INTO `+q+`.events (position, stream, version, type, actor, time, payload, evidence, prev_hash, hash, xid)
				SELECT u.p, u.s, u.v, u.t, u.a, u.tm, u.pl, u.ev, u.pr, u.h, '1'::xid8
				FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::bytea[], $10::bytea[])
				AS u(p, s, v, t, a, tm, pl, ev, pr, h)`, pos, stream, ver, typ, actor, times, payload, evidence, prev, hash)
			if err != nil {
				return err
			}
			_, err = pool.CopyFrom(ctx, pgx.Identifier{schema, "links"}, []string{"position", "ord", "stream", "version", "from_id", "to_id", "kind"}, pgx.CopyFromRows(links))
			pos, ver, stream, typ, actor, payload, evidence, prev, hash, times, links = pos[:0], ver[:0], stream[:0], typ[:0], actor[:0], payload[:0], evidence[:0], prev[:0], hash[:0], times[:0], links[:0]
			return err
		}
		err := bp.store.Scan(ctx, 0, func(r *audit.Record) error {
			pos, ver, stream, typ, actor = append(pos, r.Position), append(ver, r.Version), append(stream, r.Stream), append(typ, r.Type), append(actor, r.Actor)
			payload, evidence = append(payload, string(r.Payload)), append(evidence, string(r.Evidence))
			prev, hash, times = append(prev, append([]byte(nil), r.PrevHash[:]...)), append(hash, append([]byte(nil), r.Hash[:]...)), append(times, r.Time)
			for i, l := range r.Links {
				links = append(links, []any{r.Position, int32(i), r.Stream, r.Version, l.From, l.To, l.Kind})
			}
			heads[r.Stream] = audit.Head{Stream: r.Stream, Version: r.Version, Hash: r.Hash}
			if len(pos) == 20000 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			b.Fatalf("load events: %v", err)
		}
		rows := make([][]any, 0, len(heads))
		for _, h := range heads {
			rows = append(rows, []any{h.Stream, h.Version, h.Hash[:]})
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "streams"}, []string{"stream", "version", "hash"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatalf("load heads: %v", err)
		}
		if err := pgwalk.Install(ctx, pool, schema); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+q+".links, "+q+".events, "+q+".genealogy_edges, "+q+".genealogy_nodes"); err != nil {
			b.Fatal(err)
		}
		st, err := postgres.New(pool, &postgres.Config{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		w, err := pgwalk.New(pool, &pgwalk.Config{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		pgb = pgBench{pool: pool, schema: schema, store: st, walker: w}
	})
	if pgb.walker == nil {
		b.Fatal("Postgres benchmark plant failed to load")
	}
	return &pgb
}

// BenchmarkPostgresTrace compares, on the same plant in Postgres: pgwalk's
// Reach (the walk over the integer index, edge ids only), pgwalk's Traverse
// (Reach plus names and proving events, Store.Traverse's exact answer),
// Store.Traverse itself (one text-keyed query per level), and a plain
// recursive CTE over links that only counts what it reaches.
func BenchmarkPostgresTrace(b *testing.B) {
	bp := loadBench(b)
	pg := loadPG(b)
	p := bp.plant
	ctx := context.Background()
	typicalF := func(i int) string { return p.Lot(0, (i*7919)%p.RawLots()) }
	typicalB := func(i int) string { return p.Finished((i * 7919) % p.FinishedLots()) }
	bulk := func(int) string { return p.Bulk[0] }
	req := func(from string, dir storage.Direction) storage.TraverseRequest {
		return storage.TraverseRequest{From: []string{from}, Direction: dir, MaxDepth: 64}
	}
	type way struct {
		name string
		run  func(storage.TraverseRequest) (int, error)
	}
	cte := func(r storage.TraverseRequest) (int, error) {
		q := pgx.Identifier{pg.schema}.Sanitize()
		near, far := "from_id", "to_id"
		if r.Direction == storage.Backward {
			near, far = far, near
		}
		var n int
		err := pg.pool.QueryRow(ctx, fmt.Sprintf(`WITH RECURSIVE walk(node, depth) AS (
				SELECT unnest($1::text[]) COLLATE "C", 0
				UNION
				SELECT l.%s, w.depth + 1 FROM walk w JOIN %s.links l ON l.%s = w.node WHERE w.depth < $2
			) SELECT count(DISTINCT node) FROM walk`, far, q, near), r.From, r.MaxDepth).Scan(&n)
		return n, err
	}
	ways := []way{
		{"Reach", func(r storage.TraverseRequest) (int, error) {
			refs, err := pg.walker.Reach(ctx, r)
			return len(refs), err
		}},
		{"Walker", func(r storage.TraverseRequest) (int, error) {
			es, err := pg.walker.Traverse(ctx, r)
			return len(es), err
		}},
		{"StoreTraverse", func(r storage.TraverseRequest) (int, error) {
			es, err := pg.store.Traverse(ctx, r)
			return len(es), err
		}},
		{"PlainCTE", cte},
	}
	for _, w := range ways {
		for _, c := range []struct {
			name string
			from func(int) string
			dir  storage.Direction
		}{{"TypicalForward", typicalF, storage.Forward}, {"TypicalBackward", typicalB, storage.Backward}, {"BulkForward", bulk, storage.Forward}} {
			b.Run(w.name+"/"+c.name, func(b *testing.B) {
				i, total := 0, 0
				for b.Loop() {
					n, err := w.run(req(c.from(i), c.dir))
					if err != nil {
						b.Fatal(err)
					}
					total += n
					i++
				}
				b.ReportMetric(float64(total)/float64(i), "found/trace")
			})
		}
	}
}
