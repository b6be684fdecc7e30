package genealogy_test

import (
	"context"
	"flag"
	"runtime"
	"sync"
	"testing"

	"github.com/interlock-mes/interlock/genealogy/genealogytest"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// -plant sets the size of the benchmark plant; CI runs the small default,
// BENCHMARKS.md records -plant=1000000.
var plantLots = flag.Int("plant", 20000, "lots in the benchmark plant")

type benchPlant struct {
	plant *genealogytest.Plant
	store *memory.Store
	graph *genealogy.Graph
	held  float64 // MB the graph holds
}

var (
	benchOnce sync.Once
	bench     benchPlant
)

// loadBench generates the benchmark plant into a memory store once per run
// and builds its graph, measuring the heap the graph holds.
func loadBench(b *testing.B) *benchPlant {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		p, err := genealogytest.NewPlant(genealogytest.PlantConfig{Seed: 1, Lots: *plantLots})
		if err != nil {
			b.Fatal(err)
		}
		st := memory.New(nil)
		if _, err := p.Append(ctx, st); err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g, err := genealogy.Build(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bench = benchPlant{plant: p, store: st, graph: g, held: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)}
		s := g.Stats()
		b.Logf("plant: %d nodes, %d edges, %d events; graph holds %.0f MB", s.Nodes, s.Edges, s.Events, bench.held)
	})
	if bench.graph == nil {
		b.Fatal("benchmark plant failed to load")
	}
	return &bench
}

func benchTrace(b *testing.B, g *genealogy.Graph, from func(i int) string, dir storage.Direction) {
	ctx := context.Background()
	edges, nodes := 0, 0
	i := 0
	for b.Loop() {
		tr, err := g.Trace(ctx, genealogy.TraceRequest{From: []string{from(i)}, Direction: dir, MaxDepth: genealogy.DefaultDepth})
		if err != nil {
			b.Fatal(err)
		}
		edges += tr.Len()
		if i == 0 {
			nodes = len(tr.Nodes()) // outside the typical case's cost: once
		}
		i++
	}
	b.ReportMetric(float64(edges)/float64(i), "edges/trace")
	b.ReportMetric(float64(nodes), "nodes/first")
}

// BenchmarkGraphTrace measures traces on the in-memory graph: a typical lot
// both ways (a different lot each iteration), and the bulk input forward,
// walk only and with every edge resolved to names and proofs.
func BenchmarkGraphTrace(b *testing.B) {
	bp := loadBench(b)
	p := bp.plant
	b.Run("TypicalForward", func(b *testing.B) {
		benchTrace(b, bp.graph, func(i int) string { return p.Lot(0, (i*7919)%p.RawLots()) }, storage.Forward)
	})
	b.Run("TypicalBackward", func(b *testing.B) {
		benchTrace(b, bp.graph, func(i int) string { return p.Finished((i * 7919) % p.FinishedLots()) }, storage.Backward)
	})
	b.Run("BulkForward", func(b *testing.B) {
		benchTrace(b, bp.graph, func(int) string { return p.Bulk[0] }, storage.Forward)
	})
	b.Run("BulkForwardResolved", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			tr, err := bp.graph.Forward(ctx, p.Bulk[0])
			if err != nil {
				b.Fatal(err)
			}
			_ = tr.Edges()
		}
	})
}

// BenchmarkGraphBuild measures building the graph from the store's records
// (through the memory store's Scan), and reports the heap the graph holds.
func BenchmarkGraphBuild(b *testing.B) {
	bp := loadBench(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := genealogy.Build(ctx, bp.store, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(bp.held, "MB-held")
}
