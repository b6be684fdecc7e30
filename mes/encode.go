package mes

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/storage"
)

// The engine writes the payloads of its own records by hand: they are on
// every command's path, and encoding/json's reflection was a third of a
// command's time. The output is what json.Marshal writes for the same
// values, in canonical form (TestEncodeMatchesJSON and
// TestEncodeIsCanonical hold it to that), given Data in canonical form, as
// Request.validate leaves it: attestation relies on it.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// appendPayload appends p as JSON, members in canonical order.
func appendPayload(dst []byte, p *event.Transition) ([]byte, error) {
	var err error
	dst = append(dst, `{"command":`...)
	if dst, err = canonjson.AppendString(dst, string(p.Command)); err != nil {
		return nil, err
	}
	dst = append(dst, `,"command_id":`...)
	if dst, err = canonjson.AppendString(dst, p.CommandID); err != nil {
		return nil, err
	}
	if p.Critical {
		dst = append(dst, `,"critical":true`...)
	}
	if len(p.Data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, p.Data...)
	}
	dst = append(dst, `,"from":`...)
	if dst, err = canonjson.AppendString(dst, string(p.From)); err != nil {
		return nil, err
	}
	if p.IdentitySource != "" {
		dst = append(dst, `,"identity_source":`...)
		if dst, err = canonjson.AppendString(dst, p.IdentitySource); err != nil {
			return nil, err
		}
	}
	if p.Location != nil {
		b, err := json.Marshal(p.Location)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"location":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	dst = append(dst, `,"model":`...)
	if dst, err = canonjson.AppendString(dst, p.Model); err != nil {
		return nil, err
	}
	dst = append(dst, `,"model_version":`...)
	dst = strconv.AppendInt(dst, int64(p.ModelVersion), 10)
	if len(p.Nodes) > 0 {
		b, err := json.Marshal(p.Nodes)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"nodes":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	if p.Override != nil {
		b, err := json.Marshal(p.Override)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"override":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	if len(p.Quantities) > 0 {
		b, err := json.Marshal(p.Quantities)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"quantities":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	if len(p.Reasons) > 0 {
		b, err := json.Marshal(p.Reasons)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"reasons":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	if len(p.References) > 0 {
		b, err := json.Marshal(p.References)
		if err != nil {
			return nil, err
		}
		if dst, err = canonjson.AppendLimit(append(dst, `,"references":`...), b, storage.MaxPayloadBytes); err != nil {
			return nil, err
		}
	}
	if len(p.Refs) > 0 {
		var arr [8]string
		keys := arr[:0]
		for k := range p.Refs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, canonjson.CompareKeys)
		dst = append(dst, `,"refs":{`...)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = canonjson.AppendString(dst, k); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = canonjson.AppendString(dst, p.Refs[k]); err != nil {
				return nil, err
			}
		}
		dst = append(dst, '}')
	}
	if p.Step != "" {
		dst = append(dst, `,"step":`...)
		if dst, err = canonjson.AppendString(dst, p.Step); err != nil {
			return nil, err
		}
	}
	if p.To != "" {
		dst = append(dst, `,"to":`...)
		if dst, err = canonjson.AppendString(dst, string(p.To)); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendEvidence appends evs as json.Marshal writes a []gate.Evidence, up
// to the order of members, which is canonical: null for none, the Go field
// names as keys, the value as a decimal string.
func appendEvidence(dst []byte, evs []gate.Evidence) ([]byte, error) {
	if evs == nil {
		return append(dst, "null"...), nil
	}
	var err error
	dst = append(dst, '[')
	for i := range evs {
		ev := &evs[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		// Members in canonical (byte) order, so that the store copies the
		// evidence as it stands; At and Raw only when given.
		dst = append(dst, '{')
		if !ev.At.IsZero() {
			dst = append(dst, `"At":"`...)
			dst = ev.At.AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, `",`...)
		}
		dst = append(dst, `"HasValue":`...)
		dst = strconv.AppendBool(dst, ev.HasValue)
		dst = append(dst, `,"Identity":`...)
		if dst, err = canonjson.AppendString(dst, ev.Identity); err != nil {
			return nil, err
		}
		dst = append(dst, `,"Instrument":`...)
		if dst, err = canonjson.AppendString(dst, ev.Instrument); err != nil {
			return nil, err
		}
		dst = append(dst, `,"Name":`...)
		if dst, err = canonjson.AppendString(dst, ev.Name); err != nil {
			return nil, err
		}
		if ev.Raw != "" {
			dst = append(dst, `,"Raw":`...)
			if dst, err = canonjson.AppendString(dst, ev.Raw); err != nil {
				return nil, err
			}
		}
		dst = append(dst, `,"Source":`...)
		if dst, err = canonjson.AppendString(dst, string(ev.Source)); err != nil {
			return nil, err
		}
		dst = append(dst, `,"Stable":`...)
		dst = strconv.AppendBool(dst, ev.Stable)
		dst = append(dst, `,"Unit":`...)
		if dst, err = canonjson.AppendString(dst, ev.Unit); err != nil {
			return nil, err
		}
		dst = append(dst, `,"Value":"`...)
		dst = append(dst, ev.Value.String()...)
		dst = append(dst, '"')
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}
