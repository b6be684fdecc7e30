package mes_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
)

// FuzzExceptionOf folds an exception stream of an opening, a second record
// of any type the fold reads and a signature, each payload arbitrary. The
// fold must never panic, and when it succeeds the exception's CAPA list has
// no empty or repeated entry and folding again gives the same result.
func FuzzExceptionOf(f *testing.F) {
	open := `{"command_id":"o","model":"exception","model_version":1,"command":"open","from":"new","to":"open",` +
		`"data":{"id":"DEV-1","kind":"deviation","summary":"s","subject":"batch-B42","source":"person","consequence":"block"}}`
	f.Add([]byte(open), uint8(0), []byte(`{"command_id":"d","model":"exception","model_version":1,"command":"disposition","from":"open","to":"dispositioned","data":{"decision":"investigate","rationale":"r","capa":"CAPA-1"}}`), []byte(`{}`))
	f.Add([]byte(open), uint8(2), []byte(`{"command_id":"a","model":"exception","to":"closed","data":{}}`),
		[]byte(`{"command_id":"a","signs":2,"signature":{"manifestation":{"meaning":"approved"}}}`))
	f.Add([]byte(open), uint8(3), []byte(`{"model":"exception","to":"open","data":{"capa":""}}`), []byte(`null`))
	f.Add([]byte(`{"model":"exception","data":[]}`), uint8(1), []byte(`{}`), []byte(`{"signs":"x"}`))
	types := []string{event.ExceptionDispositioned, event.ExceptionRejected, event.ExceptionApproved, event.ExceptionCAPA,
		event.ExceptionOpened, event.Denied, "step.started"}
	f.Fuzz(func(t *testing.T, first []byte, kind uint8, second, sig []byte) {
		recs := []audit.Record{
			{Stream: "exception/DEV-1", Version: 1, Type: event.ExceptionOpened, Actor: "op-7", Payload: first},
			{Stream: "exception/DEV-1", Version: 2, Type: types[int(kind)%len(types)], Actor: "qa-4", Payload: second},
			{Stream: "exception/DEV-1", Version: 3, Type: event.SignatureApplied, Actor: "qa-3", Payload: sig},
		}
		x, err := exception.Read(recs)
		if err != nil {
			if errors.Is(err, exception.ErrNotFound) && x != nil {
				t.Fatalf("not found, and yet %+v", x)
			}
			return
		}
		if x == nil {
			t.Fatal("no exception and no error")
		}
		for i, c := range x.CAPA {
			if c == "" || slices.Contains(x.CAPA[:i], c) {
				t.Fatalf("CAPA list %q", x.CAPA)
			}
		}
		again, err := exception.Read(recs)
		if err != nil || again.State != x.State || again.ApprovedBy != x.ApprovedBy {
			t.Fatalf("a second fold differs: %+v, %v", again, err)
		}
	})
}
