package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock"
	pml "github.com/interlock-mes/interlock/device/packml"
	"github.com/interlock-mes/interlock/internal/quantity"
)

// Kind says what a message reports: the last level of its topic.
type Kind string

// The kinds of device message.
const (
	KindReading Kind = "reading" // a weighed value
	KindState   Kind = "state"   // a PackML state change
)

// Bounds of a payload's fields.
const (
	maxID      = 128
	maxDecimal = 64
	maxUnit    = 16
	maxRaw     = 1024
)

// payloadError says why a payload is malformed; its text is a dead
// letter's reason. It matches
// interlock.ErrInvalid.
type payloadError struct {
	Field  string // the JSON field, or "" for the payload as a whole
	Reason string
}

func (e *payloadError) Error() string {
	if e.Field == "" {
		return "payload: " + e.Reason
	}
	return "payload " + e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, interlock.ErrInvalid) true.
func (e *payloadError) Unwrap() error { return interlock.ErrInvalid }

func bad(field, format string, args ...any) error {
	return &payloadError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// readingJSON is the payload of a reading (see the package doc).
type readingJSON struct {
	ID         *string   `json:"id"`
	Instrument *string   `json:"instrument"`
	Value      *string   `json:"value"`
	Unit       *string   `json:"unit"`
	Stable     *bool     `json:"stable"`
	Tare       *tareJSON `json:"tare"`
	Time       *string   `json:"time"`
	Raw        *string   `json:"raw"`
}

type tareJSON struct {
	Value  *string `json:"value"`
	Stable *bool   `json:"stable"`
}

// stateJSON is the payload of a PackML state change.
type stateJSON struct {
	ID        *string `json:"id"`
	Equipment *string `json:"equipment"`
	From      *string `json:"from"`
	To        *string `json:"to"`
	Time      *string `json:"time"`
}

// payload is a decoded, checked payload: what the message says, before it
// is bound to the topic it came on.
type payload struct {
	ID         string
	Instrument string // the reading's instrument or the state's equipment
	DeviceTime time.Time

	// KindReading
	Value, TareValue   decimal.Decimal
	Unit               string
	Stable, TareStable bool
	HasTare            bool
	Raw                string

	// KindState
	Change pml.Change
}

// parse decodes and checks a payload of kind k. It returns a
// *payloadError naming the first field that is wrong.
func parse(k Kind, data []byte) (*payload, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p payload
	switch k {
	case KindReading:
		var r readingJSON
		if err := decodeOne(dec, &r); err != nil {
			return nil, err
		}
		if err := p.reading(&r); err != nil {
			return nil, err
		}
	case KindState:
		var s stateJSON
		if err := decodeOne(dec, &s); err != nil {
			return nil, err
		}
		if err := p.state(&s); err != nil {
			return nil, err
		}
	default:
		return nil, bad("", "no payload of kind %q", k)
	}
	return &p, nil
}

// decodeOne decodes exactly one JSON object into v.
func decodeOne(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return bad(ute.Field, "a JSON %s where a %s belongs", ute.Value, ute.Type)
		}
		return bad("", "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("", "data after the JSON object")
	}
	return nil
}

func (p *payload) reading(r *readingJSON) error {
	var err error
	if p.ID, err = messageID(r.ID); err != nil {
		return err
	}
	if p.Instrument, err = ident("instrument", r.Instrument); err != nil {
		return err
	}
	if p.Value, err = decimalField("value", r.Value); err != nil {
		return err
	}
	if r.Unit == nil || *r.Unit == "" {
		return bad("unit", "missing")
	}
	if len(*r.Unit) > maxUnit || !printable(*r.Unit) {
		return bad("unit", "%.20q is not a unit of at most %d printable characters", *r.Unit, maxUnit)
	}
	p.Unit = *r.Unit
	if r.Stable == nil {
		return bad("stable", "missing")
	}
	p.Stable = *r.Stable
	if r.Tare != nil {
		if p.TareValue, err = decimalField("tare.value", r.Tare.Value); err != nil {
			return err
		}
		if r.Tare.Stable == nil {
			return bad("tare.stable", "missing")
		}
		p.HasTare, p.TareStable = true, *r.Tare.Stable
	}
	if p.DeviceTime, err = timeField(r.Time); err != nil {
		return err
	}
	if r.Raw != nil {
		if len(*r.Raw) > maxRaw {
			return bad("raw", "%d bytes is over the limit of %d", len(*r.Raw), maxRaw)
		}
		p.Raw = *r.Raw
	}
	return nil
}

func (p *payload) state(s *stateJSON) error {
	var err error
	if p.ID, err = messageID(s.ID); err != nil {
		return err
	}
	if p.Instrument, err = ident("equipment", s.Equipment); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *string
		to   *pml.State
	}{{"from", s.From, &p.Change.From}, {"to", s.To, &p.Change.To}} {
		if f.v == nil || *f.v == "" {
			return bad(f.name, "missing")
		}
		st := pml.State(*f.v)
		if st.Number() == 0 {
			return bad(f.name, "%.40q is not a PackML state", *f.v)
		}
		*f.to = st
	}
	if p.DeviceTime, err = timeField(s.Time); err != nil {
		return err
	}
	return nil
}

// messageID checks a message id: 1 to maxID characters of letters, digits
// and ". _ : -", so that the command id made from it is one printable
// token.
func messageID(v *string) (string, error) {
	if v == nil || *v == "" {
		return "", bad("id", "missing")
	}
	if len(*v) > maxID {
		return "", bad("id", "%d characters is over the limit of %d", len(*v), maxID)
	}
	for _, c := range []byte(*v) {
		if !idChar(c) {
			return "", bad("id", "%.40q holds a character other than letters, digits and . _ : -", *v)
		}
	}
	return *v, nil
}

// ident checks an equipment or instrument id; it must also be one topic
// level, so the same characters as a message id.
func ident(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", bad(field, "missing")
	}
	if len(*v) > maxID {
		return "", bad(field, "%d characters is over the limit of %d", len(*v), maxID)
	}
	for _, c := range []byte(*v) {
		if !idChar(c) {
			return "", bad(field, "%.40q holds a character other than letters, digits and . _ : -", *v)
		}
	}
	return *v, nil
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func decimalField(field string, v *string) (decimal.Decimal, error) {
	if v == nil || *v == "" {
		return decimal.Decimal{}, bad(field, "missing")
	}
	if len(*v) > maxDecimal {
		return decimal.Decimal{}, bad(field, "%d characters is over the limit of %d", len(*v), maxDecimal)
	}
	d, err := decimal.NewFromString(*v)
	if err != nil {
		return decimal.Decimal{}, bad(field, "%.40q is not a decimal", *v)
	}
	if !quantity.InBounds(d) {
		return decimal.Decimal{}, bad(field, "%.40q is out of bounds", *v)
	}
	return d, nil
}

func timeField(v *string) (time.Time, error) {
	if v == nil || *v == "" {
		return time.Time{}, bad("time", "missing")
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return time.Time{}, bad("time", "%.40q is not an RFC 3339 time", *v)
	}
	return t.UTC(), nil
}
