package storagetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

func testAppend(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		got := mustAppend(t, s, one("batch-1", 0,
			ev("batch.created", `{ "qty" : 12.50, "b":1, "a":[true, null] }`, audit.Link{From: "lot-1", To: "batch-1", Kind: "consumed"}),
			storage.Event{Type: "batch.started", Actor: "op-7", Evidence: []byte(`{"source":"scanner"}`)},
		))
		if len(got) != 2 {
			t.Fatalf("Append returned %d records, want 2", len(got))
		}
		want := []struct {
			version           int64
			typ, actor        string
			payload, evidence string
		}{
			{1, "batch.created", "tester", `{"a":[true,null],"b":1,"qty":12.5}`, `null`},
			{2, "batch.started", "op-7", `null`, `{"source":"scanner"}`},
		}
		for i, w := range want {
			r := got[i]
			if r.Stream != "batch-1" || r.Version != w.version || r.Type != w.typ || r.Actor != w.actor ||
				string(r.Payload) != w.payload || string(r.Evidence) != w.evidence {
				t.Errorf("record %d = %s v%d %s by %s payload %s evidence %s; want batch-1 v%d %s by %s payload %s evidence %s",
					i, r.Stream, r.Version, r.Type, r.Actor, r.Payload, r.Evidence, w.version, w.typ, w.actor, w.payload, w.evidence)
			}
			if r.Time.IsZero() || r.Time.Location() != time.UTC || !r.Time.Equal(r.Time.Truncate(audit.TimePrecision)) {
				t.Errorf("record %d time %v: want a UTC system time at microsecond precision", i, r.Time)
			}
		}
		if got[0].Position >= got[1].Position || got[0].Position < 1 {
			t.Errorf("positions %d, %d: want increasing from 1 up", got[0].Position, got[1].Position)
		}
		if diff := cmp.Diff([]audit.Link{{From: "lot-1", To: "batch-1", Kind: "consumed"}}, got[0].Links); diff != "" {
			t.Errorf("links (-want +got):\n%s", diff)
		}
		if err := audit.VerifyStream(got); err != nil {
			t.Errorf("appended records do not verify: %v", err)
		}
		if diff := cmp.Diff(got, mustLoad(t, s, "batch-1"), recordOpts); diff != "" {
			t.Errorf("Load after Append (-appended +loaded):\n%s", diff)
		}
		// What a caller does to its copy does not reach the store.
		got[0].Payload[1] = 'X'
		if loaded := mustLoad(t, s, "batch-1"); string(loaded[0].Payload) != want[0].payload {
			t.Errorf("changing a returned payload changed the store: %s", loaded[0].Payload)
		}
	})

	t.Run("ChainAcrossAppends", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for v := range int64(5) {
			mustAppend(t, s, one("lot-1", v, ev("lot.counted", `{"n":1}`)))
		}
		recs := mustLoad(t, s, "lot-1")
		if len(recs) != 5 {
			t.Fatalf("loaded %d records, want 5", len(recs))
		}
		if recs[0].PrevHash != audit.Genesis("lot-1") {
			t.Errorf("first record's PrevHash is not the stream's genesis value")
		}
		if err := audit.VerifyStream(recs); err != nil {
			t.Errorf("chain does not verify: %v", err)
		}
	})

	t.Run("ConflictOnStaleVersion", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustAppend(t, s, one("order-1", 0, ev("order.created", `{}`)))
		_, err := s.Append(ctx, one("order-1", 0, ev("order.created", `{}`)))
		expectConflict(t, err, "order-1", 0)
		var ce *storage.ConflictError
		if errors.As(err, &ce) && ce.Actual != 1 && ce.Actual != -1 {
			t.Errorf("conflict reports actual version %d, want 1 (or -1 for unknown)", ce.Actual)
		}
		_, err = s.Append(ctx, one("order-1", 5, ev("order.released", `{}`)))
		expectConflict(t, err, "order-1", 5)
		if n := len(mustLoad(t, s, "order-1")); n != 1 {
			t.Errorf("stream holds %d records after conflicts, want 1", n)
		}
	})

	t.Run("MultiStreamAtomic", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustAppend(t, s, one("lot-9", 0, ev("lot.received", `{"qty":"10"}`)))
		req := storage.AppendRequest{Streams: []storage.StreamAppend{
			{Stream: "batch-9", ExpectedVersion: 0, Events: []storage.Event{ev("material.consumed", `{"qty":"4"}`)}},
			{Stream: "lot-9", ExpectedVersion: 1, Events: []storage.Event{ev("lot.consumed", `{"qty":"4"}`)}},
		}}
		recs := mustAppend(t, s, req)
		if len(recs) != 2 || recs[0].Stream != "batch-9" || recs[1].Stream != "lot-9" || recs[1].Version != 2 {
			t.Fatalf("records %+v: want batch-9 v1 then lot-9 v2, in request order", recs)
		}
		// The same append again: lot-9 is stale, so batch-9 must not move either.
		req.Streams[0].ExpectedVersion = 1
		_, err := s.Append(ctx, req)
		expectConflict(t, err, "lot-9", 1)
		if n := len(mustLoad(t, s, "batch-9")); n != 1 {
			t.Errorf("batch-9 holds %d records after a conflict on lot-9, want 1", n)
		}
		if n := len(readAll(t, s)); n != 3 {
			t.Errorf("store holds %d records, want 3", n)
		}
	})

	t.Run("StaleReadFails", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustAppend(t, s, one("lot-5", 0, ev("lot.released", `{}`)))
		decide := func(readVersion int64) storage.AppendRequest {
			req := one("batch-5", 0, ev("material.consumed", `{}`))
			req.Reads = []storage.StreamVersion{{Stream: "lot-5", Version: readVersion}, {Stream: "training-op-1", Version: 0}}
			return req
		}
		// A hold lands on the lot after the gate read it at version 1.
		mustAppend(t, s, one("lot-5", 1, ev("lot.held", `{}`)))
		_, err := s.Append(ctx, decide(1))
		expectConflict(t, err, "lot-5", 1)
		if n := len(mustLoad(t, s, "batch-5")); n != 0 {
			t.Fatalf("batch-5 holds %d records after a stale read, want 0", n)
		}
		if n := len(mustLoad(t, s, "lot-5")); n != 2 {
			t.Fatalf("a read stream was written to: lot-5 holds %d records, want 2", n)
		}
		// Read at the current version, and a stream that does not exist at 0: passes.
		mustAppend(t, s, decide(2))
		// A stream asserted absent that has since been created conflicts.
		mustAppend(t, s, one("training-op-1", 0, ev("training.recorded", `{}`)))
		req := one("batch-6", 0, ev("material.consumed", `{}`))
		req.Reads = []storage.StreamVersion{{Stream: "training-op-1", Version: 0}}
		_, err = s.Append(ctx, req)
		expectConflict(t, err, "training-op-1", 0)
	})

	t.Run("UnicodeNamesInNormalForm", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Precomposed (NFC) names outside ASCII are names like any other.
		res, err := s.Append(ctx, one("lot-Mé-Ø", 0, storage.Event{Type: "lot.received", Actor: "Jürgen Müller"}))
		if err != nil || len(res.Records) != 1 || res.Records[0].Stream != "lot-Mé-Ø" || res.Records[0].Actor != "Jürgen Müller" {
			t.Fatalf("append with NFC names: %+v, %v", res, err)
		}
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		big := `"` + strings.Repeat("x", storage.MaxPayloadBytes) + `"`
		tests := []struct {
			name  string
			req   storage.AppendRequest
			field string
		}{
			{"no streams", storage.AppendRequest{}, "streams"},
			{"empty stream id", one("", 0, ev("t", `{}`)), "streams[0].stream"},
			{"control character in stream id", one("a\nb", 0, ev("t", `{}`)), "streams[0].stream"},
			{"NUL in stream id", one("a\x00b", 0, ev("t", `{}`)), "streams[0].stream"},
			{"C1 control in stream id", one("a\u0085b", 0, ev("t", `{}`)), "streams[0].stream"},
			{"bidi override in stream id", one("lot-\u202e7L", 0, ev("t", `{}`)), "streams[0].stream"},
			{"zero-width space in actor", one("s", 0, storage.Event{Type: "t", Actor: "op\u200b7"}), "streams[0].events[0].actor"},
			{"decomposed accent in stream id", one("lot-Me\u0301", 0, ev("t", `{}`)), "streams[0].stream"},
			{"bidi isolate in a link", one("s", 0, ev("t", `{}`, audit.Link{From: "a\u2066", To: "b", Kind: "k"})), "streams[0].events[0].links[0].from"},
			{"negative expected version", one("s", -1, ev("t", `{}`)), "streams[0].expected_version"},
			{"no events", one("s", 0), "streams[0].events"},
			{"empty type", one("s", 0, ev("", `{}`)), "streams[0].events[0].type"},
			{"empty actor", one("s", 0, storage.Event{Type: "t"}), "streams[0].events[0].actor"},
			{"payload not JSON", one("s", 0, ev("t", `{"a":`)), "streams[0].events[0].payload"},
			{"payload with duplicate keys", one("s", 0, ev("t", `{"a":1,"a":2}`)), "streams[0].events[0].payload"},
			{"payload over the limit", one("s", 0, ev("t", big)), "streams[0].events[0].payload"},
			{"evidence not JSON", one("s", 0, storage.Event{Type: "t", Actor: "a", Evidence: []byte("scale")}), "streams[0].events[0].evidence"},
			{"link without from", one("s", 0, ev("t", `{}`, audit.Link{To: "b", Kind: "k"})), "streams[0].events[0].links[0].from"},
			{"link without to", one("s", 0, ev("t", `{}`, audit.Link{From: "a", Kind: "k"})), "streams[0].events[0].links[0].to"},
			{"link without kind", one("s", 0, ev("t", `{}`, audit.Link{From: "a", To: "b"})), "streams[0].events[0].links[0].kind"},
			{"stream twice", storage.AppendRequest{Streams: []storage.StreamAppend{
				{Stream: "s", Events: []storage.Event{ev("t", `{}`)}}, {Stream: "s", Events: []storage.Event{ev("t", `{}`)}}}}, "streams[1].stream"},
			{"read and written", func() storage.AppendRequest {
				r := one("s", 0, ev("t", `{}`))
				r.Reads = []storage.StreamVersion{{Stream: "s"}}
				return r
			}(), "reads[0].stream"},
			{"negative read version", func() storage.AppendRequest {
				r := one("s", 0, ev("t", `{}`))
				r.Reads = []storage.StreamVersion{{Stream: "r", Version: -2}}
				return r
			}(), "reads[0].version"},
		}
		s := newStore(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Append(ctx, tt.req)
				if !errors.Is(err, storage.ErrInvalid) {
					t.Fatalf("error = %v, want one matching storage.ErrInvalid", err)
				}
				var ve *storage.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field {
					t.Errorf("error %v names field %q, want %q", err, fieldOf(ve), tt.field)
				}
			})
		}
		expectEmpty(t, s)
	})
}

func fieldOf(ve *storage.ValidationError) string {
	if ve == nil {
		return "<none>"
	}
	return ve.Field
}
