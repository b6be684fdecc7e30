package postgres_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

func replaceSchema(sql, schema string) string { return strings.ReplaceAll(sql, "{s}", schema) }

type eventOpt func(*storage.Event)

func linkTo(from, to string) eventOpt {
	return func(e *storage.Event) { e.Links = append(e.Links, audit.Link{From: from, To: to, Kind: "consumed"}) }
}

// appendN appends n events to stream, one append each, from its current
// version, and returns the records.
func appendN(tb testing.TB, s storage.Store, stream string, n int, opts ...eventOpt) []audit.Record {
	tb.Helper()
	v := int64(len(load(tb, s, stream)))
	var out []audit.Record
	for i := range n {
		e := storage.Event{Type: "step.completed", Actor: "op-17", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d,"stream":%q}`, i, stream))}
		for _, o := range opts {
			o(&e)
		}
		res, err := s.Append(tb.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: v, Events: []storage.Event{e}}}})
		if err != nil {
			tb.Fatalf("append to %s at %d: %v", stream, v, err)
		}
		out = append(out, res.Records...)
		v++
	}
	return out
}

func load(tb testing.TB, s storage.Store, stream string) []audit.Record {
	tb.Helper()
	recs, err := s.Load(tb.Context(), stream, 1)
	if err != nil {
		tb.Fatalf("load %s: %v", stream, err)
	}
	return recs
}
