package gs1

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The dictionary's req= and ex= rules, in element strings and Digital
// Links: the error names the AI whose rule is broken and the others.
func TestPairingRules(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	deferring, err := NewParser(&Config{Clock: func() time.Time { return gs1Now }, DeferRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	const gtin, sscc = "0109506000134352", "00376130321109103420"
	tests := []struct {
		name    string
		in      string
		wantAI  string
		wantMsg string // "" when the data parse
		// deferredOK says the data parse when mandatory associations are
		// deferred.
		deferredOK bool
	}{
		{"batch without a key", "10ABC", "10", "(10) needs (01), (02), (03), (8006) or (8026)", true},
		{"expiry without a key", "17271231", "17", "(17) needs (01), (02), (03), (255), (8006) or (8026)", true},
		{"batch with GTIN", gtin + "10ABC", "", "", true},
		{"GTIN with CONTENT", gtin + "0209506000134352", "02", "(02) may not appear with (01)", false},
		{"GTIN with count", gtin + "3712", "01", "(01) may not appear with (37)", false},
		{"two net weights in kg", gtin + "3102000100" + "3103001000", "3102", "(3102) may not appear with (3103)", false},
		{"secondary serial needs serial", gtin + "250SEC", "250", "(250) needs (21)", true},
		{"secondary serial with serial", gtin + "21S\x1d" + "250SEC", "", "", true},
		{"count needs SSCC and content", "0209506000134352" + "3712", "37", "(37) needs (00)", true},
		{"ship-to address needs SSCC", "4302" + "Main%20St", "4302", "(4302) needs (00)", true},
		{"ship-to address with SSCC", sscc + "4302" + "Main%20St", "", "", true},
		{"IMEI needs GTIN and serial", gtin + "8040" + "123456789012345", "8040", "(8040) needs (01) with (21)", true},
		{"max and min temperature in both scales", sscc + "4330" + "001250\x1d" + "4331" + "001250", "4330", "(4330) may not appear with (4331)", false},
		{"price needs a measure", gtin + "3922" + "1250", "3922", "(3922) needs (30), (31nn), (32nn), (35nn) or (36nn)", true},
		{"price with a measure", gtin + "3103000195" + "3922" + "1250", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.ParseElementString(tt.in)
			checkPairingError(t, err, tt.wantAI, tt.wantMsg)
			if _, err := deferring.ParseElementString(tt.in); (err == nil) != tt.deferredOK {
				t.Errorf("with DeferRequired: error %v, want success %v", err, tt.deferredOK)
			}
		})
	}
}

func checkPairingError(t *testing.T, err error, wantAI, wantMsg string) {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	var ge *Error
	if !errors.Is(err, ErrPairing) || !errors.As(err, &ge) {
		t.Fatalf("error %v, want a *Error with ErrPairing", err)
	}
	if diff := cmp.Diff([]string{wantAI, wantMsg}, []string{ge.AI, ge.Reason}); diff != "" {
		t.Errorf("AI and reason (-want +got):\n%s", diff)
	}
}

func TestPairingRulesDigitalLink(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name, in, wantAI, wantMsg string
	}{
		{"GTIN with count", "https://example.com/01/09506000134352?37=12", "01", "(01) may not appear with (37)"},
		{"GLN with batch", "https://example.com/414/9501101020917?10=A", "10", "(10) needs (01), (02), (03), (8006) or (8026)"},
		{"GTIN with batch", "https://example.com/01/09506000134352?10=A", "", ""},
	}
	for _, tt := range tests {
		_, err := p.ParseDigitalLink(tt.in)
		t.Run(tt.name, func(t *testing.T) { checkPairingError(t, err, tt.wantAI, tt.wantMsg) })
	}
}

// CheckPairs judges the combined data of several symbols, as on a logistic
// label whose barcodes each hold part of the data.
func TestCheckPairsOverCombinedSymbols(t *testing.T) {
	t.Parallel()
	p, err := NewParser(&Config{Clock: func() time.Time { return gs1Now }, DeferRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	var all []Element
	for _, sym := range []string{"]C1" + "0209506000134352" + "3712", "]C1" + "10LOT7\x1d" + "15271231", "]C1" + "00376130321109103420"} {
		d, err := p.ParseElementString(sym)
		if err != nil {
			t.Fatalf("%q: %v", sym, err)
		}
		all = append(all, d.Elements...)
	}
	if err := CheckPairs(all); err != nil {
		t.Errorf("combined: %v", err)
	}
	if err := CheckPairs(all[:4]); !errors.Is(err, ErrPairing) {
		t.Errorf("without the SSCC: error %v, want ErrPairing", err)
	}
}
