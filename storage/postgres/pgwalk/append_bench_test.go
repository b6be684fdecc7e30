package pgwalk_test

import (
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// BenchmarkAppendLinks appends one event with three links (two lots
// consumed into a batch, the batch producing a lot), one append at a time,
// each commit waiting for its WAL flush: on a store without the walker and
// on one where the walker's trigger fills the walker's tables in the append's
// transaction. The difference is what the walker costs an append.
func BenchmarkAppendLinks(b *testing.B) {
	for _, installed := range []bool{false, true} {
		b.Run(map[bool]string{false: "store", true: "pgwalk"}[installed], func(b *testing.B) {
			pool, schema := pgtest.DurablePool(b)
			s, err := postgres.New(pool, &postgres.Config{Schema: schema})
			if err != nil {
				b.Fatal(err)
			}
			if !installed {
				// The store alone: the walker's trigger (migration 0004)
				// switched off, as before the walker was part of the store.
				if _, err := pool.Exec(b.Context(), `ALTER TABLE `+pgx.Identifier{schema, "links"}.Sanitize()+` DISABLE TRIGGER links_genealogy`); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				i++
				batch := fmt.Sprintf("B%d", i)
				_, err := s.Append(b.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: batch, Events: []storage.Event{{
					Type: "lot.produced", Actor: "op", Payload: []byte(`{"qty":"10"}`),
					Links: []audit.Link{
						{From: fmt.Sprintf("L%d", i), To: batch, Kind: "consumed"},
						{From: fmt.Sprintf("L%d", i-1), To: batch, Kind: "consumed"},
						{From: batch, To: fmt.Sprintf("P%d", i), Kind: "produced"},
					},
				}}}}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
