package postgres_test

import (
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// BenchmarkGroupCPU compares the database's work for n appends written as
// one group with n appends written alone, one after another, on one
// connection without waiting for WAL flushes: what group commit costs the
// server beside what it saves. Reported per append.
func BenchmarkGroupCPU(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		for _, n := range []int{8, 32} {
			for _, mode := range []string{"alone", "group"} {
				b.Run(fmt.Sprintf("keyed=%v/n=%d/%s", keyed, n, mode), func(b *testing.B) {
					pool, schema := pgtest.Pool(b)
					s, err := postgres.New(pool, &postgres.Config{Schema: schema, GroupCommit: postgres.GroupCommit{Off: true}})
					if err != nil {
						b.Fatal(err)
					}
					versions := make([]int64, n)
					reqs := make([]storage.AppendRequest, n)
					b.ResetTimer()
					for i := 0; i < b.N; i += n {
						for j := range reqs {
							reqs[j] = benchAppend(fmt.Sprintf("batch-%d", j), versions[j])
							if keyed {
								reqs[j].IdempotencyKey = fmt.Sprintf("cmd-%d-%d", j, versions[j])
								reqs[j].Reads = []storage.StreamVersion{{Stream: "person/op-17", Version: 0}}
							}
							versions[j]++
						}
						if mode == "alone" {
							for _, req := range reqs {
								if _, err := s.Append(b.Context(), req); err != nil {
									b.Fatal(err)
								}
							}
							continue
						}
						_, errs := postgres.AppendGroup(b.Context(), s, reqs)
						for _, err := range errs {
							if err != nil {
								b.Fatal(err)
							}
						}
					}
				})
			}
		}
	}
}
