package device

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/interlock-mes/interlock"
	"github.com/shopspring/decimal"
)

// Source says where a piece of evidence came from: interlock.Source, the
// one type gate evidence carries too.
type Source = interlock.Source

// The sources of evidence (interlock's).
const (
	SourceDevice  = interlock.SourceDevice  // read from an instrument over its protocol
	SourceScanner = interlock.SourceScanner // scanned from a barcode
	SourceManual  = interlock.SourceManual  // typed by a person
	SourceSystem  = interlock.SourceSystem  // derived by Interlock itself
)

// Reading is a value read from an instrument: evidence only because it says
// which instrument, what value and unit, whether it was stable, when (system
// time) and the raw frame it was parsed from.
type Reading struct {
	Instrument string          // instrument id, such as "SC-01"
	Value      decimal.Decimal // exact value
	Unit       string          // unit as the instrument reports it, such as "kg"
	Stable     bool            // the instrument reported the value as settled
	Time       time.Time       // system time of the reading, UTC
	Raw        []byte          // the frame the value was parsed from
	Source     Source
}

// CalibrationStatus is the state of an instrument's calibration.
type CalibrationStatus string

// The calibration states.
const (
	CalibrationValid   CalibrationStatus = "valid"
	CalibrationFailed  CalibrationStatus = "failed"
	CalibrationUnknown CalibrationStatus = "unknown"
)

// Instrument is what the engine's instrument gate needs to know about a
// device: whether its calibration holds at a given time.
type Instrument struct {
	ID             string
	Kind           string // such as "scale", "plc"
	Status         CalibrationStatus
	CalibrationDue time.Time // the reading is trusted strictly before this instant
}

// CalibratedAt returns nil when the instrument's calibration holds at t, or
// an error that says why not.
func (i Instrument) CalibratedAt(t time.Time) error {
	switch {
	case i.Status != CalibrationValid:
		return fmt.Errorf("instrument %s: calibration status is %q", i.ID, i.Status)
	case i.CalibrationDue.IsZero():
		return fmt.Errorf("instrument %s: no calibration due date", i.ID)
	case !t.Before(i.CalibrationDue):
		return fmt.Errorf("instrument %s: calibration was due %s", i.ID, i.CalibrationDue.UTC().Format(time.RFC3339))
	}
	return nil
}

// Clock returns the current time: interlock.Clock. Adapters take one in
// their configuration so that tests can fix time; readings are stamped with
// it, never with a time a device reports.
type Clock = interlock.Clock

// RawText returns the frame the reading was parsed from as the record
// keeps it (gate.Evidence.Raw): a text frame, such as an MT-SICS line,
// as it was sent without its line ending; any other, such as a Modbus
// frame, as "hex:" and its bytes in hexadecimal. A frame too long for a
// record (over gate.MaxRawBytes once written) is cut, and says so. It
// is "" for a reading without a frame.
func (r Reading) RawText() string {
	raw := bytes.TrimRight(r.Raw, "\r\n")
	if len(raw) == 0 {
		return ""
	}
	text := utf8.Valid(raw)
	for _, c := range string(raw) {
		if c == utf8.RuneError || (unicode.IsControl(c) && c != '\t') {
			text = false
			break
		}
	}
	out := string(raw)
	if !text {
		out = "hex:" + hex.EncodeToString(raw)
	}
	if len(out) > maxRawText {
		n := maxRawText - len(cut)
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = out[:n] + cut
	}
	return out
}

// maxRawText is gate.MaxRawBytes, which device does not import; a test
// holds them equal.
const maxRawText = 1024

// cut ends a frame RawText had to shorten.
const cut = "…(cut)"
