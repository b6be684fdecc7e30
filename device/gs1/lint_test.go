package gs1

import (
	"errors"
	"testing"
)

// The dictionary's checks, run through the parser: each valid value
// parses, each invalid one fails with the sentinel named.
func TestLinters(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	const gtin = "0109506000134352"
	tests := []struct {
		name string
		in   string
		want error // nil: parses
	}{
		{"GMN check character pair (GS1 General Specifications example)", "80131987654Ad4X4bL5ttr2310c2K", nil},
		{"GMN bad check characters", "80131987654Ad4X4bL5ttr2310c2L", ErrCheckDigit},
		{"GMN too short for a pair", "801312", ErrCheckDigit},
		{"MUDI needs a non-digit", gtin + "8014" + "109999822", ErrInvalidValue},
		{"GDTI check digit", "2539501101020917DOC-1", nil},
		{"GDTI bad check digit", "2539501101020918DOC-1", ErrCheckDigit},
		{"GRAI leading zero", "800309501101020917ASSET", nil},
		{"GRAI leading digit not zero", "800319501101020917ASSET", ErrInvalidValue},
		{"ITIP piece of total", "8006" + "09506000134352" + "0102", nil},
		{"ITIP piece over total", "8006" + "09506000134352" + "0302", ErrInvalidValue},
		{"ITIP piece zero", "8006" + "09506000134352" + "0002", ErrInvalidValue},
		{"expiry time", gtin + "7003" + "2712312359", nil},
		{"expiry time minute 60", gtin + "7003" + "2712312360", ErrInvalidDate},
		{"harvest date range", gtin + "7007" + "270101" + "270131", nil},
		{"harvest end date invalid", gtin + "7007" + "270101" + "270231", ErrInvalidDate},
		{"harvest date half a date", gtin + "7007" + "270101" + "27", ErrTruncated},
		{"production time hour only", gtin + "8008" + "27123123", nil},
		{"production time hour 24", gtin + "8008" + "27123124", ErrInvalidDate},
		{"production time second 60", gtin + "8008" + "2712312359" + "60", ErrInvalidDate},
		{"date of birth", "8018950110102091712344" + "\x1d7250" + "20000229", nil},
		{"date of birth not a day", "8018950110102091712344" + "\x1d7250" + "20010229", ErrInvalidDate},
		{"dimensions", gtin + "8001" + "0001" + "00002" + "003" + "1" + "5", nil},
		{"dimensions zero width", gtin + "8001" + "0000" + "00002" + "003" + "1" + "5", ErrInvalidValue},
		{"dimensions bad winding", gtin + "8001" + "0001" + "00002" + "003" + "2" + "5", ErrInvalidValue},
		{"dangerous goods yes/no", "00376130321109103420" + "4321" + "1", nil},
		{"dangerous goods 2", "00376130321109103420" + "4321" + "2", ErrInvalidValue},
		{"maximum temperature negative", "00376130321109103420" + "4330" + "001250-", nil},
		{"maximum temperature plus", "00376130321109103420" + "4330" + "001250+", ErrInvalidValue},
		{"ship-to latitude over 180", "00376130321109103420" + "4309" + "1800000001" + "0000000000", ErrInvalidValue},
		{"percent-encoded name", "00376130321109103420" + "4301" + "J%20Smith", nil},
		{"bad percent-encoding", "00376130321109103420" + "4301" + "J%2", ErrInvalidValue},
		{"IBAN", "4155412345678908" + "8020INV\x1d" + "8007" + "GB82WEST12345698765432", nil},
		{"IBAN bad check digits", "4155412345678908" + "8020INV\x1d" + "8007" + "GB83WEST12345698765432", ErrCheckDigit},
		{"CPID in character set 39", "8010" + "95011010#-/A\x1d" + "8011" + "12", nil},
		{"CPID lower case", "8010" + "95011010a\x1d" + "8011" + "12", ErrInvalidCharacter},
		{"CPID serial leading zero", "8010" + "95011010A\x1d" + "8011" + "012", ErrInvalidValue},
		{"digital signature base64url with padding", gtin + "21S\x1d" + "8030" + "Ab-_9==", nil},
		{"digital signature padding inside", gtin + "21S\x1d" + "8030" + "Ab=_9", ErrInvalidCharacter},
		{"birth sequence", "8018950110102091712344" + "\x1d7259BABY\x1d" + "7258" + "1/2", nil},
		{"birth sequence past total", "8018950110102091712344" + "\x1d7259BABY\x1d" + "7258" + "3/2", ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.ParseElementString(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ParseElementString(%q): %v", tt.in, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseElementString(%q): error %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestCheckPairKnownValues(t *testing.T) {
	t.Parallel()
	// GS1 General Specifications, check character calculation example.
	if got, ok := checkPair("1987654Ad4X4bL5ttr2310c"); !ok || got != "2K" {
		t.Errorf("checkPair = %q, %v; want 2K", got, ok)
	}
}
