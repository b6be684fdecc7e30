package device_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/gate"
)

// TestRawText: the frame a reading was parsed from, as the record keeps
// it: text as sent without its line ending, anything else in hex, never
// longer than a record takes and always valid UTF-8.
func TestRawText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"none", nil, ""},
		{"line ending only", []byte("\r\n"), ""},
		{"MT-SICS line", []byte("S S     12.500 kg\r\n"), "S S     12.500 kg"},
		{"tab kept", []byte("W\t1.5 kg\n"), "W\t1.5 kg"},
		{"Modbus frame", []byte{0x01, 0x03, 0x04, 0x00, 0x96, 0x00, 0x00}, "hex:01030400960000"},
		{"not UTF-8", []byte{'S', ' ', 0xff, 'k', 'g'}, "hex:5320ff6b67"},
		{"control in the middle", []byte("S\x00S 1 kg"), "hex:5300532031206b67"},
	} {
		if got := (device.Reading{Raw: c.raw}).RawText(); got != c.want {
			t.Errorf("%s: RawText() = %q, want %q", c.name, got, c.want)
		}
	}
	for _, raw := range [][]byte{
		[]byte(strings.Repeat("é", 2*gate.MaxRawBytes)),
		[]byte(strings.Repeat("x", gate.MaxRawBytes+1)),
		make([]byte, gate.MaxRawBytes),
	} {
		got := (device.Reading{Raw: raw}).RawText()
		if len(got) > gate.MaxRawBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "(cut)") {
			t.Errorf("a %d-byte frame gave %d bytes (valid UTF-8 %v), ending %q; want at most %d, cut and saying so",
				len(raw), len(got), utf8.ValidString(got), got[max(0, len(got)-10):], gate.MaxRawBytes)
		}
	}
	if got := (device.Reading{Raw: []byte(strings.Repeat("x", gate.MaxRawBytes))}).RawText(); len(got) != gate.MaxRawBytes || strings.HasSuffix(got, "(cut)") {
		t.Errorf("a frame of exactly the limit was cut: %d bytes", len(got))
	}
}
