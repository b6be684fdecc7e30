package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// BenchmarkFeedLag measures how long a committed record takes to reach a
// reader that tails the record with ReadAll, while 8 writers append (each
// durable commit waits for its WAL flush), with and without a transaction
// left open on another table of the cluster for the whole run. It reports
// the median and 99th percentile lag from the append's return to the
// reader's ReadAll returning it, and the appends per second.
func BenchmarkFeedLag(b *testing.B) {
	for _, open := range []bool{false, true} {
		b.Run(fmt.Sprintf("unrelatedOpen=%v", open), func(b *testing.B) {
			ctx := context.Background()
			pool, schema := pgtest.DurablePool(b)
			s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if open {
				other := pgtest.Schema(b, pool)
				if _, err := pool.Exec(ctx, `CREATE TABLE `+other+`.t (id int)`); err != nil {
					b.Fatal(err)
				}
				tx, err := pool.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback(ctx)
				if _, err := tx.Exec(ctx, `INSERT INTO `+other+`.t VALUES (1)`); err != nil {
					b.Fatal(err)
				}
			}
			var mu sync.Mutex
			appended := map[int64]time.Time{} // position → when its append returned
			var lags []time.Duration
			var last int64 // the highest position an append returned
			done := make(chan struct{})
			readerDone := make(chan struct{})
			go func() { // the feed
				defer close(readerDone)
				var after int64
				for {
					recs, err := s.ReadAll(ctx, after, 1000)
					if err != nil {
						b.Error(err)
						return
					}
					now := time.Now()
					mu.Lock()
					for _, r := range recs {
						if t, ok := appended[r.Position]; ok {
							lags = append(lags, now.Sub(t))
							delete(appended, r.Position)
						}
						after = r.Position
					}
					caughtUp := after >= last
					mu.Unlock()
					select {
					case <-done:
						if caughtUp {
							return
						}
					default:
					}
					if len(recs) == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			b.ResetTimer()
			b.SetParallelism(4) // 8 writers on 2 cores
			var n sync.WaitGroup
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				n.Add(1)
				defer n.Done()
				stream := fmt.Sprintf("batch-%d", time.Now().UnixNano())
				var v int64
				for pb.Next() {
					res, err := s.Append(ctx, oneEvent(stream, v, `{"step":"S10"}`))
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					p := res.Records[0].Position
					appended[p] = time.Now() // a record the feed read first is not counted
					last = max(last, p)
					mu.Unlock()
					v++
				}
			})
			elapsed := time.Since(start)
			close(done)
			<-readerDone
			b.StopTimer()
			if len(lags) == 0 {
				b.Fatal("the feed saw no record")
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds()), "p50-lag-µs")
			b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds()), "p99-lag-µs")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			_ = storage.Forward
		})
	}
}
