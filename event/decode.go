package event

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
)

// DecodeError says which record's payload is not the payload its type
// calls for. It matches interlock.ErrInvalid.
type DecodeError struct {
	Stream  string
	Version int64
	Type    string
	Err     error // what the JSON decoder said, or why the payload is not one
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("event: %s v%d (%s): %v", e.Stream, e.Version, e.Type, e.Err)
}

// Unwrap makes errors.Is(err, interlock.ErrInvalid) true.
func (e *DecodeError) Unwrap() []error { return []error{interlock.ErrInvalid, e.Err} }

// Decode reads the payload of a record the engine wrote, chosen by the
// record's type and stream: a *Signature for SignatureApplied, a *Consumed
// for LotConsumed, a *Marker for ExceptionOpened and ExceptionClosed
// outside an exception's own stream, and a *Transition for every other
// type (a transition's own and extra records, and Denied).
//
// It returns a *DecodeError (errors.Is interlock.ErrInvalid) when the
// payload is not JSON of that shape, or a Transition has no command id.
// Authentication events (AuthPrefix) and records the engine did not write
// are not decoded: an error says so.
func Decode(r *audit.Record) (Payload, error) {
	var p Payload
	switch {
	case strings.HasPrefix(r.Type, AuthPrefix):
		return nil, &DecodeError{r.Stream, r.Version, r.Type, fmt.Errorf("an authentication event has no engine payload")}
	case r.Type == SignatureApplied:
		p = new(Signature)
	case r.Type == LotConsumed:
		p = new(Consumed)
	case (r.Type == ExceptionOpened || r.Type == ExceptionClosed) && !strings.HasPrefix(r.Stream, "exception/"):
		p = new(Marker)
	default:
		p = new(Transition)
	}
	if err := json.Unmarshal(r.Payload, p); err != nil {
		return nil, &DecodeError{r.Stream, r.Version, r.Type, err}
	}
	if t, ok := p.(*Transition); ok && t.CommandID == "" {
		return nil, &DecodeError{r.Stream, r.Version, r.Type, fmt.Errorf("no command_id: not a transition the engine recorded")}
	}
	return p, nil
}
