package memory

import (
	"context"
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/storage"
)

// TestManyStreamsAndKeys crosses several blocks of streams and of
// idempotency keys: every stream is found again with its records, the
// heads list them all, and every key replays its own append.
func TestManyStreamsAndKeys(t *testing.T) {
	t.Parallel()
	s := New(nil)
	ctx := context.Background()
	const n = 3<<blockBits + 7
	req := func(i int) storage.AppendRequest {
		return storage.AppendRequest{
			IdempotencyKey: fmt.Sprint("key-", i),
			Streams: []storage.StreamAppend{{Stream: fmt.Sprint("batch-", i), Events: []storage.Event{
				{Type: "batch.started", Actor: "op-1", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))}}}},
		}
	}
	for i := range n {
		if _, err := s.Append(ctx, req(i)); err != nil {
			t.Fatal(err)
		}
	}
	heads, err := s.Heads(ctx)
	if err != nil || len(heads) != n {
		t.Fatalf("Heads: %d heads, %v; want %d", len(heads), err, n)
	}
	for i := range n {
		recs, err := s.Load(ctx, fmt.Sprint("batch-", i), 1)
		if err != nil || len(recs) != 1 || string(recs[0].Payload) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("Load batch-%d: %+v, %v", i, recs, err)
		}
		res, err := s.Append(ctx, req(i))
		if err != nil || !res.Replayed || res.Records[0].Hash != recs[0].Hash {
			t.Fatalf("replay of key-%d: %+v, %v", i, res, err)
		}
	}
}
