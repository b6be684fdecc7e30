package genealogy_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/genealogy/genealogytest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/postgres/pgwalk"
)

// -pgschema keeps the Postgres plant between runs: loading a million lots
// takes minutes, and a walk's plan is worth measuring on warm tables.
var pgSchema = flag.String("pgschema", "", "keep the Postgres benchmark plant in this schema and reuse it in later runs (never dropped)")

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

// loadPG returns the benchmark plant in Postgres: in a fresh schema, or in
// the -pgschema one, loaded there by an earlier run (a comment on the
// schema says which plant it holds) or now; the walker's trigger (migration
// 0004) fills its tables as the links are copied. It then
// VACUUM ANALYZE so that the walks are index-only.
func loadPG(b *testing.B) *pgBench {
	b.Helper()
	pgOnce.Do(func() {
		ctx := context.Background()
		var pool *pgxpool.Pool
		schema := *pgSchema
		if schema == "" {
			pool, schema = pgtest.Pool(b)
		} else {
			pool = pgtest.Connect(b)
			if err := postgres.Migrate(ctx, pool, schema); err != nil {
				b.Fatal(err)
			}
		}
		q := pgx.Identifier{schema}.Sanitize()
		mark := fmt.Sprintf("genealogy benchmark plant: seed 1, %d lots", *plantLots)
		var comment *string
		if err := pool.QueryRow(ctx, `SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1`, schema).Scan(&comment); err != nil {
			b.Fatal(err)
		}
		if comment == nil || *comment != mark {
			var other bool
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+q+`.events)`).Scan(&other); err != nil {
				b.Fatal(err)
			}
			if other {
				b.Fatalf("schema %s holds events but not %s; drop it or name another", schema, mark)
			}
			start := time.Now()
			copyPlant(b, pool, schema)
			if _, err := pool.Exec(ctx, `COMMENT ON SCHEMA `+q+` IS '`+mark+`'`); err != nil {
				b.Fatal(err)
			}
			b.Logf("plant copied into %s in %v", schema, time.Since(start).Round(time.Second))
		}
		// Every table of the schema, the walker's whichever they are.
		rows, err := pool.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = $1`, schema)
		if err != nil {
			b.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+strings.Join(tables, ", ")); err != nil {
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

// copyPlant copies the benchmark plant from the memory store into schema:
// events in batches of INSERT ... SELECT FROM unnest, links with COPY,
// stream heads last where the schema keeps them. It bypasses Append for
// speed (the records and their hashes are the memory store's), which only
// a benchmark may do, and so it writes whichever of the events columns it
// knows the schema has (xid, in some versions, as one old transaction).
func copyPlant(b *testing.B, pool *pgxpool.Pool, schema string) {
	b.Helper()
	ctx := context.Background()
	bp := loadBench(b)
	q := pgx.Identifier{schema}.Sanitize()
	rows, err := pool.Query(ctx, `SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events'`, schema)
	if err != nil {
		b.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	known := map[string]string{
		"position": "u.p", "stream": "u.s", "version": "u.v", "type": "u.t", "actor": "u.a", "time": "u.tm",
		"payload": "u.pl", "evidence": "u.ev", "prev_hash": "u.pr", "hash": "u.h", "xid": "'1'::xid8",
	}
	var names, values []string
	for _, c := range cols {
		v, ok := known[c]
		if !ok {
			b.Fatalf("events has a column %q this loader does not know", c)
		}
		names, values = append(names, c), append(values, v)
	}
	insert := `INSERT INTO ` + q + `.events (` + strings.Join(names, ", ") + `)
		SELECT ` + strings.Join(values, ", ") + `
		FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::bytea[], $10::bytea[])
		AS u(p, s, v, t, a, tm, pl, ev, pr, h)`
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
		if _, err := pool.Exec(ctx, insert, pos, stream, ver, typ, actor, times, payload, evidence, prev, hash); err != nil {
			return err
		}
		_, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "links"}, []string{"position", "ord", "stream", "version", "from_id", "to_id", "kind"}, pgx.CopyFromRows(links))
		pos, ver, stream, typ, actor, payload, evidence, prev, hash, times, links = pos[:0], ver[:0], stream[:0], typ[:0], actor[:0], payload[:0], evidence[:0], prev[:0], hash[:0], times[:0], links[:0]
		return err
	}
	err = bp.store.Scan(ctx, 0, func(r *audit.Record) error {
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
	var hasHeads bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, q+".streams").Scan(&hasHeads); err != nil {
		b.Fatal(err)
	}
	if !hasHeads {
		return
	}
	hrows := make([][]any, 0, len(heads))
	for _, h := range heads {
		hrows = append(hrows, []any{h.Stream, h.Version, h.Hash[:]})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "streams"}, []string{"stream", "version", "hash"}, pgx.CopyFromRows(hrows)); err != nil {
		b.Fatalf("load heads: %v", err)
	}
}

// typicalLots is how many lots the typical traces cycle through.
const typicalLots = 20

// BenchmarkPostgresTrace compares, on the same plant in Postgres: pgwalk's
// Reach (the walk over the integer index, edge ids only), pgwalk's Traverse
// (Reach plus names and proving events, Store.Traverse's exact answer),
// Store.Traverse itself (one text-keyed query per level), and a plain
// recursive CTE over links that only counts what it reaches. Typical
// traces cycle through typicalLots lots; each case first runs once untimed
// on every start it uses, so that it measures the walk on warm pages (and
// pgwalk's bulk trace with its closure stored) rather than the disk.
func BenchmarkPostgresTrace(b *testing.B) {
	pg := loadPG(b)
	p, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: 1, Lots: *plantLots})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	typicalF := func(i int) string { return p.Lot(0, ((i%typicalLots)*7919)%p.RawLots()) }
	typicalB := func(i int) string { return p.Finished(((i % typicalLots) * 7919) % p.FinishedLots()) }
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
			name   string
			from   func(int) string
			starts int
			dir    storage.Direction
		}{
			{"TypicalForward", typicalF, typicalLots, storage.Forward},
			{"TypicalBackward", typicalB, typicalLots, storage.Backward},
			{"BulkForward", bulk, 1, storage.Forward},
		} {
			b.Run(w.name+"/"+c.name, func(b *testing.B) {
				for i := range c.starts {
					if _, err := w.run(req(c.from(i), c.dir)); err != nil {
						b.Fatal(err)
					}
				}
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

// BenchmarkPostgresFirstTraverse measures what the first pgwalk Traverse of
// the bulk input pays once, before it is as fast as BenchmarkPostgresTrace
// measures: with the input's closure stored but not its dictionary
// (NoDictionary: every name and event looked up, the dictionary stored),
// and with neither (NoClosure: the level walk and the closure stored, then
// the same). Each iteration first clears them, untimed; the last leaves
// both stored.
func BenchmarkPostgresFirstTraverse(b *testing.B) {
	pg := loadPG(b)
	p, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: 1, Lots: *plantLots})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	q := pgx.Identifier{pg.schema}.Sanitize()
	req := storage.TraverseRequest{From: []string{p.Bulk[0]}, Direction: storage.Forward, MaxDepth: 64}
	for _, c := range []struct{ name, clear string }{
		{"NoDictionary", `UPDATE ` + q + `.genealogy_closures SET resolved = NULL`},
		{"NoClosure", `DELETE FROM ` + q + `.genealogy_closures`},
	} {
		b.Run(c.name+"/BulkForward", func(b *testing.B) {
			// A closure for NoDictionary to keep, and warm pages.
			if _, err := pg.walker.Traverse(ctx, req); err != nil {
				b.Fatal(err)
			}
			n := 0
			for range b.N {
				b.StopTimer()
				if _, err := pg.pool.Exec(ctx, c.clear); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				es, err := pg.walker.Traverse(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				n += len(es)
			}
			b.ReportMetric(float64(n)/float64(b.N), "found/trace")
		})
	}
}
