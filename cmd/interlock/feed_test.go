package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// appendEvent appends one event to stream at its next version.
func appendEvent(t *testing.T, s storage.Store, stream string, version int64, typ string) audit.Record {
	t.Helper()
	res, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{
		Stream: stream, ExpectedVersion: version - 1, Events: []storage.Event{{Type: typ, Actor: "ops"}}}}})
	if err != nil {
		t.Fatalf("append %s v%d: %v", stream, version, err)
	}
	return res.Records[0]
}

func lineOf(r audit.Record) feedLine {
	return feedLine{Stream: r.Stream, Version: r.Version, Position: r.Position, Type: r.Type, Actor: r.Actor, Time: r.Time.UTC(), Hash: r.Hash}
}

// TestFeed: the feed prints every record once, in global order, with the
// fields that identify it; -from skips the records up to a position.
func TestFeed(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	var want []feedLine
	versions := map[string]int64{}
	for _, s := range []string{"a", "b", "a", "c", "b"} {
		versions[s]++
		want = append(want, lineOf(appendEvent(t, store, s, versions[s], "thing.happened")))
	}
	db := []string{"feed", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait}

	r := interlock(t, db...)
	r.want(t, exitOK)
	got := feedLines(t, strings.Split(r.stdout, "\n"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("feed (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Position <= got[i-1].Position {
			t.Errorf("line %d at position %d follows position %d", i, got[i].Position, got[i-1].Position)
		}
	}

	r = interlock(t, append(db, "-from", itoa(want[1].Position))...)
	r.want(t, exitOK)
	if diff := cmp.Diff(want[2:], feedLines(t, strings.Split(r.stdout, "\n"))); diff != "" {
		t.Errorf("feed -from the second record's position (-want +got):\n%s", diff)
	}
	r = interlock(t, append(db, "-from", itoa(want[len(want)-1].Position))...)
	r.want(t, exitOK)
	if r.stdout != "" {
		t.Errorf("feed -from the last position printed %q", r.stdout)
	}
}

// TestFeedFollow: with -follow the feed prints what is there, then a record
// appended while it runs, and exits 0 when interrupted.
func TestFeedFollow(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	first := lineOf(appendEvent(t, store, "a", 1, "thing.happened"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, errOut := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"feed", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait, "-follow", "-interval", "10ms"}, out, errOut)
	}()
	wait := func(n int) {
		t.Helper()
		for len(out.all()) < n {
			select {
			case <-out.added:
			case code := <-done:
				t.Fatalf("feed -follow ended with %d before line %d; stderr: %q", code, n, errOut.all())
			}
		}
	}
	wait(1)
	second := lineOf(appendEvent(t, store, "b", 1, "thing.happened"))
	wait(2)
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("interrupted feed -follow exited %d, want 0; stderr: %q", code, errOut.all())
	}
	if diff := cmp.Diff([]feedLine{first, second}, feedLines(t, out.all())); diff != "" {
		t.Errorf("feed -follow (-want +got):\n%s", diff)
	}
}

// TestFeedPages: a record past the first page is printed once, after the
// page, so the feed resumes each read from the last record it printed.
func TestFeedPages(t *testing.T) {
	t.Parallel()
	store, _, schema := storeOn(t)
	events := make([]storage.Event, feedPage+2)
	for i := range events {
		events[i] = storage.Event{Type: "thing.counted", Actor: "ops"}
	}
	res, err := store.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: "bulk", Events: events}}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]feedLine, len(res.Records))
	for i, r := range res.Records {
		want[i] = lineOf(r)
	}
	r := interlock(t, "feed", "-database-url", testURL(t), "-schema", schema, "-read-wait", testReadWait)
	r.want(t, exitOK)
	if diff := cmp.Diff(want, feedLines(t, strings.Split(r.stdout, "\n"))); diff != "" {
		t.Errorf("feed over two pages (-want +got):\n%s", diff)
	}
}
