package mqtt

import (
	"errors"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock"
	pml "github.com/interlock-mes/interlock/device/packml"
	"github.com/interlock-mes/interlock/internal/quantity"
)

const goodReading = `{"id":"SC-01-0001","instrument":"SC-01","value":"12.500","unit":"kg","stable":true,"tare":{"value":"1.250","stable":false},"time":"2026-11-25T08:59:58.5+01:00","raw":"S S 12.500 kg"}`

const goodState = `{"id":"p1","equipment":"PK-01","from":"Execute","to":"Holding","time":"2026-11-25T09:00:00Z"}`

func TestParseGood(t *testing.T) {
	t.Parallel()
	p, err := parse(KindReading, []byte(goodReading))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "SC-01-0001" || p.Instrument != "SC-01" || p.Value.String() != "12.5" || p.Unit != "kg" || !p.Stable ||
		!p.HasTare || p.TareValue.String() != "1.25" || p.TareStable || p.Raw != "S S 12.500 kg" ||
		p.DeviceTime.Format("15:04:05.0 MST") != "07:59:58.5 UTC" {
		t.Errorf("reading parsed as %+v", p)
	}
	s, err := parse(KindState, []byte(goodState))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "p1" || s.Instrument != "PK-01" || s.Change != (pml.Change{From: pml.Execute, To: pml.Holding}) {
		t.Errorf("state parsed as %+v", s)
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	r := func(replace, with string) string { return strings.Replace(goodReading, replace, with, 1) }
	for _, c := range []struct {
		kind       Kind
		payload    string
		field, why string
	}{
		{KindReading, ``, "", "EOF"},
		{KindReading, `[]`, "", "cannot unmarshal"},
		{KindReading, goodReading + `{}`, "", "data after"},
		{KindReading, r(`"raw"`, `"extra"`), "", `unknown field "extra"`},
		{KindReading, r(`"id":"SC-01-0001"`, `"id":"a/b"`), "id", "character"},
		{KindReading, r(`"id":"SC-01-0001"`, `"id":"`+strings.Repeat("a", 129)+`"`), "id", "over the limit"},
		{KindReading, r(`"id":"SC-01-0001",`, ``), "id", "missing"},
		{KindReading, r(`"instrument":"SC-01",`, ``), "instrument", "missing"},
		{KindReading, r(`"12.500"`, `"12.5.0"`), "value", "not a decimal"},
		{KindReading, r(`"12.500"`, `12.5`), "value", "a JSON number"},
		{KindReading, r(`"12.500"`, `"1e200"`), "value", "out of bounds"},
		{KindReading, r(`"12.500"`, `"`+strings.Repeat("9", 65)+`"`), "value", "over the limit"},
		{KindReading, r(`"unit":"kg",`, ``), "unit", "missing"},
		{KindReading, r(`"unit":"kg"`, `"unit":"k g"`), "unit", "printable"},
		{KindReading, r(`"stable":true,`, ``), "stable", "missing"},
		{KindReading, r(`"stable":true`, `"stable":"yes"`), "stable", "a JSON string"},
		{KindReading, r(`,"stable":false}`, `}`), "tare.stable", "missing"},
		{KindReading, r(`"value":"1.250"`, `"value":"x"`), "tare.value", "not a decimal"},
		{KindReading, r(`"2026-11-25T08:59:58.5+01:00"`, `"yesterday"`), "time", "RFC 3339"},
		{KindReading, r(`"raw":"S S 12.500 kg"`, `"raw":"`+strings.Repeat("x", 1025)+`"`), "raw", "over the limit"},
		{KindState, strings.Replace(goodState, `"Holding"`, `"holding"`, 1), "to", "not a PackML state"},
		{KindState, strings.Replace(goodState, `"from":"Execute",`, ``, 1), "from", "missing"},
		{KindState, strings.Replace(goodState, `"equipment"`, `"instrument"`, 1), "", "unknown field"},
		{Kind("alarm"), goodState, "", "no payload of kind"},
	} {
		_, err := parse(c.kind, []byte(c.payload))
		var pe *payloadError
		if !errors.As(err, &pe) || pe.Field != c.field || !strings.Contains(pe.Reason, c.why) || !errors.Is(err, interlock.ErrInvalid) {
			t.Errorf("%s %.60s: %v; want field %q, reason with %q, matching ErrInvalid", c.kind, c.payload, err, c.field, c.why)
		}
	}
}

// FuzzParse: no payload panics the parser, and every payload it accepts
// keeps the bounds the package doc promises.
func FuzzParse(f *testing.F) {
	for _, s := range []string{goodReading, goodState, `{}`, `{"id":"x"}`, `{"value":"-0.0e-3"}`, `null`, `"x"`} {
		f.Add(true, []byte(s))
		f.Add(false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, reading bool, data []byte) {
		k := KindState
		if reading {
			k = KindReading
		}
		p, err := parse(k, data)
		if err != nil {
			var pe *payloadError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *payloadError", err)
			}
			return
		}
		if !topicLevel(p.ID) || !topicLevel(p.Instrument) || p.DeviceTime.IsZero() {
			t.Fatalf("accepted id %q, instrument %q, time %v", p.ID, p.Instrument, p.DeviceTime)
		}
		switch k {
		case KindReading:
			if p.Unit == "" || len(p.Unit) > maxUnit || !quantity.InBounds(p.Value) || !quantity.InBounds(p.TareValue) || len(p.Raw) > maxRaw {
				t.Fatalf("accepted reading %+v", p)
			}
		case KindState:
			if p.Change.From.Number() == 0 || p.Change.To.Number() == 0 {
				t.Fatalf("accepted change %+v", p.Change)
			}
		}
	})
}
