package review

import (
	"context"
	"io"
	"testing"

	"github.com/interlock-mes/interlock/storage/memory"
)

// BenchmarkBuild builds the report of the test batch with one of each
// exception (28 records, 7 streams) from the memory store, signatures
// verified; BenchmarkWriteHTML renders it.
func BenchmarkBuild(b *testing.B) {
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(b, s, c)
	p.exceptional("B-EXC")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(ctx, s, "B-EXC", &Options{SealKey: p.pub}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(b, s, c)
	p.exceptional("B-EXC")
	rep, err := Build(context.Background(), s, "B-EXC", &Options{SealKey: p.pub})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
}
