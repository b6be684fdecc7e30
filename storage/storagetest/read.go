package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

func testRead(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("LoadFromVersion", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		all := mustAppend(t, s, one("eq-1", 0, ev("a", `1`), ev("b", `2`), ev("c", `3`)))
		got, err := s.Load(ctx, "eq-1", 2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all[1:], got, recordOpts); diff != "" {
			t.Errorf("Load from 2 (-want +got):\n%s", diff)
		}
		for _, from := range []int64{4, 100} {
			got, err := s.Load(ctx, "eq-1", from)
			if err != nil || len(got) != 0 {
				t.Errorf("Load from %d past the head = %d records, %v; want none, no error", from, len(got), err)
			}
		}
		got, err = s.Load(ctx, "no-such-stream", 1)
		if err != nil || len(got) != 0 {
			t.Errorf("Load of an unknown stream = %d records, %v; want none, no error", len(got), err)
		}
		if _, err := s.Load(ctx, "eq-1", 0); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Load from version 0: error = %v, want ErrInvalid", err)
		}
	})

	t.Run("LoadPage", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var events []storage.Event
		for i := range 10 {
			events = append(events, ev("e", fmt.Sprint(i)))
		}
		all := mustAppend(t, s, one("eq-2", 0, events...))
		if _, ok := s.(storage.PageLoader); !ok {
			t.Errorf("%T is not a storage.PageLoader: a page of a stream reads the whole stream", s)
		}
		for _, c := range []struct {
			from  int64
			limit int
		}{{1, 10}, {1, 3}, {3, 4}, {8, 5}, {10, 1}, {11, 2}, {50, 1}} {
			got, err := storage.LoadPage(ctx, s, "eq-2", c.from, c.limit)
			if err != nil {
				t.Fatalf("LoadPage(from %d, limit %d): %v", c.from, c.limit, err)
			}
			want := []audit.Record{}
			if c.from <= int64(len(all)) {
				want = all[c.from-1 : min(int(c.from-1)+c.limit, len(all))]
			}
			if diff := cmp.Diff(want, got, recordOpts); diff != "" {
				t.Errorf("LoadPage(from %d, limit %d) (-want +got):\n%s", c.from, c.limit, diff)
			}
		}
		for _, c := range []struct {
			from  int64
			limit int
		}{{0, 1}, {1, 0}, {1, -1}} {
			if _, err := storage.LoadPage(ctx, s, "eq-2", c.from, c.limit); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("LoadPage(from %d, limit %d): %v, want ErrInvalid", c.from, c.limit, err)
			}
		}
	})

	t.Run("GlobalOrder", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var want []audit.Record
		for i := range 20 {
			stream := fmt.Sprintf("s-%d", i%3)
			v := int64(i / 3)
			want = append(want, mustAppend(t, s, one(stream, v, ev("tick", fmt.Sprint(i))))...)
		}
		got := readAll(t, s)
		if diff := cmp.Diff(want, got, recordOpts); diff != "" {
			t.Errorf("ReadAll in pages (-appended +read):\n%s", diff)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Position <= got[i-1].Position {
				t.Fatalf("position %d follows %d", got[i].Position, got[i-1].Position)
			}
		}
		tail, err := s.ReadAll(ctx, got[9].Position, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[10:], tail, recordOpts); diff != "" {
			t.Errorf("ReadAll after position %d (-want +got):\n%s", got[9].Position, diff)
		}
		if sc, ok := s.(storage.Scanner); ok {
			var scanned []audit.Record
			err := sc.Scan(ctx, got[4].Position, func(r *audit.Record) error {
				scanned = append(scanned, *r)
				return nil
			})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if diff := cmp.Diff(want[5:], scanned, recordOpts); diff != "" {
				t.Errorf("Scan after position %d (-want +got):\n%s", got[4].Position, diff)
			}
			stop := errors.New("stop")
			n := 0
			if err := sc.Scan(ctx, 0, func(*audit.Record) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
				t.Errorf("Scan whose callback fails: %d calls, error %v; want 1 call and that error", n, err)
			}
		}
		if _, err := s.ReadAll(ctx, 0, 0); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ReadAll with limit 0: error = %v, want ErrInvalid", err)
		}
		if _, err := s.ReadAll(ctx, -1, 10); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("ReadAll after -1: error = %v, want ErrInvalid", err)
		}
	})

	t.Run("Heads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		b := mustAppend(t, s, one("b", 0, ev("x", `1`), ev("x", `2`)))
		a := mustAppend(t, s, one("a", 0, ev("x", `1`)))
		// A stream only asserted by a read has no events and no head.
		req := one("c", 0, ev("x", `1`))
		req.Reads = []storage.StreamVersion{{Stream: "only-read", Version: 0}}
		c := mustAppend(t, s, req)
		got, err := s.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []audit.Head{
			{Stream: "a", Version: 1, Hash: a[0].Hash},
			{Stream: "b", Version: 2, Hash: b[1].Hash},
			{Stream: "c", Version: 1, Hash: c[0].Hash},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Heads (-want +got):\n%s", diff)
		}
	})

	t.Run("VerifyAfterRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 30 {
			mustAppend(t, s, one(fmt.Sprintf("s-%d", i%4), int64(i/4), ev("tick", fmt.Sprintf(`{"i":%d}`, i))))
		}
		rep, err := storage.Verify(ctx, s, nil, nil)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if rep.Records != 30 || rep.Streams != 4 || len(rep.Breaks) != 0 {
			t.Errorf("report: %d records in %d streams with %d breaks; want 30 in 4 with none", rep.Records, rep.Streams, len(rep.Breaks))
		}
		heads, err := s.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(heads, rep.Heads); diff != "" {
			t.Errorf("heads from the records differ from the store's (-store +records):\n%s", diff)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Append(cctx, one("s", 0, ev("x", `1`))); !errors.Is(err, context.Canceled) {
			t.Errorf("Append with a cancelled context: error = %v, want context.Canceled", err)
		}
		expectEmpty(t, s)
	})
}
