package gs1

import (
	"fmt"
	"strings"
	"time"
)

// lintFunc checks one component of an AI's data for one of the dictionary's
// named checks. year is the current year for the century rule of two-digit
// years, or 0 when no clock is at hand (then 29 February passes in every
// year divisible by four). It returns the reason and the sentinel, or "" and nil.
type lintFunc func(v string, year int) (string, error)

// linters are the dictionary's checks that this package runs, by name.
var linters = map[string]lintFunc{
	"csum":          lintCsum,
	"csumalpha":     lintCsumAlpha,
	"yymmd0":        func(v string, year int) (string, error) { return lintYYMMDD(v, year, true) },
	"yymmdd":        func(v string, year int) (string, error) { return lintYYMMDD(v, year, false) },
	"yyyymmd0":      func(v string, _ int) (string, error) { return lintYYYYMMDD(v, true) },
	"yyyymmdd":      func(v string, _ int) (string, error) { return lintYYYYMMDD(v, false) },
	"hhmi":          lintHHMI,
	"hh":            lintMax("hour", 23),
	"mi":            lintMax("minute", 59),
	"ss":            lintMax("second", 59),
	"nonzero":       lintNonZero,
	"zero":          lintZero,
	"winding":       lintOneOf("winding direction", "0", "1", "9"),
	"yesno":         lintOneOf("yes/no flag", "0", "1"),
	"iso5218":       lintOneOf("ISO/IEC 5218 sex code", "0", "1", "2", "9"),
	"hyphen":        lintOneOf("flag", "-"),
	"nozeroprefix":  lintNoZeroPrefix,
	"hasnondigit":   lintHasNonDigit,
	"pieceoftotal":  lintPieceOfTotal,
	"posinseqslash": lintPosInSeqSlash,
	"latitude":      lintMaxNumber("latitude", 1800000000),
	"longitude":     lintMaxNumber("longitude", 3600000000),
	"pcenc":         lintPercentEncoding,
	"iban":          lintIBAN,
}

// uncheckedLinters are the dictionary's checks this package knows of and
// does not run: they need code lists (countries, currencies, package and
// media types, importer indexes), a GS1 Company Prefix length lookup, or the
// coupon standards. A linter in neither map fails a test, so a new
// dictionary release cannot add a check that is silently skipped.
var uncheckedLinters = map[string]bool{
	"gcppos1": true, "gcppos2": true,
	"iso3166": true, "iso3166999": true, "iso3166alpha2": true, "iso4217": true,
	"importeridx": true, "packagetype": true, "mediatype": true,
	"couponcode": true, "couponposoffer": true,
}

func lintCsum(v string, _ int) (string, error) {
	if len(v) < 2 || !isDigits(v) {
		return "want digits with a check digit", ErrCheckDigit
	}
	if want, ok := verifyCheckDigit(v); !ok {
		return fmt.Sprintf("want check digit %c", want), ErrCheckDigit
	}
	return "", nil
}

const (
	cset82Order = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`
	cset32Order = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)

// checkPair returns the GS1 check character pair of body, an alphanumeric
// key without its check characters (GS1 General Specifications 7.9.5): each
// character's place in character set 82 is weighted by the primes counted
// from the right (2, 3, 5, …), the sum is taken modulo 1021 and written as
// two characters of character set 32. ok is false when body is too long for
// the weights or has a character outside set 82.
func checkPair(body string) (pair string, ok bool) {
	primes := [...]int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83}
	if len(body) > len(primes) {
		return "", false
	}
	sum := 0
	for i := 0; i < len(body); i++ {
		n := strings.IndexByte(cset82Order, body[i])
		if n < 0 {
			return "", false
		}
		sum += n * primes[len(body)-1-i]
	}
	sum %= 1021
	return string([]byte{cset32Order[sum>>5], cset32Order[sum&31]}), true
}

func lintCsumAlpha(v string, _ int) (string, error) {
	if len(v) < 3 {
		return "too short to carry a check character pair", ErrCheckDigit
	}
	want, ok := checkPair(v[:len(v)-2])
	if !ok {
		return "too long for a check character pair", ErrCheckDigit
	}
	if v[len(v)-2:] != want {
		return "want check characters " + want, ErrCheckDigit
	}
	return "", nil
}

func lintYYMMDD(v string, year int, allowDay00 bool) (string, error) {
	if year == 0 {
		// Without a clock, take the year of this century: 29 February
		// passes exactly when the two digits are divisible by four, which
		// is right in every century but for 00.
		year = 2000
	}
	if _, reason := parseGS1Date(v, year, allowDay00); reason != "" {
		return reason, ErrInvalidDate
	}
	return "", nil
}

func lintYYYYMMDD(v string, allowDay00 bool) (string, error) {
	if len(v) != 8 || !isDigits(v) {
		return "want eight digits YYYYMMDD", ErrInvalidDate
	}
	y, m, d := atoi(v[:4]), atoi(v[4:6]), atoi(v[6:])
	if m < 1 || m > 12 {
		return fmt.Sprintf("month %02d", m), ErrInvalidDate
	}
	if d == 0 && allowDay00 {
		return "", nil
	}
	if !(Date{Year: y, Month: time.Month(m), Day: d}).valid() {
		return fmt.Sprintf("day %02d of %04d-%02d", d, y, m), ErrInvalidDate
	}
	return "", nil
}

func lintHHMI(v string, _ int) (string, error) {
	if len(v) != 4 || !isDigits(v) {
		return "want four digits HHMM", ErrInvalidDate
	}
	if hh, mi := atoi(v[:2]), atoi(v[2:]); hh > 23 || mi > 59 {
		return fmt.Sprintf("time %02d:%02d", hh, mi), ErrInvalidDate
	}
	return "", nil
}

func lintMax(what string, max int) lintFunc {
	return func(v string, _ int) (string, error) {
		if !isDigits(v) || atoi(v) > max {
			return fmt.Sprintf("%s %s", what, v), ErrInvalidDate
		}
		return "", nil
	}
}

func lintMaxNumber(what string, max int) lintFunc {
	return func(v string, _ int) (string, error) {
		if !isDigits(v) || atoi(v) > max {
			return fmt.Sprintf("%s %s is over %d", what, v, max), ErrInvalidValue
		}
		return "", nil
	}
}

func lintNonZero(v string, _ int) (string, error) {
	if strings.Trim(v, "0") == "" {
		return "must not be zero", ErrInvalidValue
	}
	return "", nil
}

func lintZero(v string, _ int) (string, error) {
	if strings.Trim(v, "0") != "" {
		return "must be zero", ErrInvalidValue
	}
	return "", nil
}

func lintOneOf(what string, allowed ...string) lintFunc {
	return func(v string, _ int) (string, error) {
		for _, a := range allowed {
			if v == a {
				return "", nil
			}
		}
		return fmt.Sprintf("%s %q, want one of %s", what, v, strings.Join(allowed, ", ")), ErrInvalidValue
	}
}

func lintNoZeroPrefix(v string, _ int) (string, error) {
	if len(v) > 1 && v[0] == '0' {
		return "no leading zero allowed", ErrInvalidValue
	}
	return "", nil
}

func lintHasNonDigit(v string, _ int) (string, error) {
	if isDigits(v) {
		return "must contain a character that is not a digit", ErrInvalidValue
	}
	return "", nil
}

func lintPieceOfTotal(v string, _ int) (string, error) {
	if len(v)%2 != 0 || !isDigits(v) {
		return "want piece and total of equal length", ErrInvalidValue
	}
	piece, total := atoi(v[:len(v)/2]), atoi(v[len(v)/2:])
	if piece == 0 || total == 0 || piece > total {
		return fmt.Sprintf("piece %d of %d", piece, total), ErrInvalidValue
	}
	return "", nil
}

func lintPosInSeqSlash(v string, _ int) (string, error) {
	pos, total, ok := strings.Cut(v, "/")
	if !ok || !isDigits(pos) || !isDigits(total) {
		return "want position/total", ErrInvalidValue
	}
	if p, t := atoi(pos), atoi(total); p == 0 || t == 0 || p > t || pos[0] == '0' || total[0] == '0' {
		return fmt.Sprintf("position %s of %s", pos, total), ErrInvalidValue
	}
	return "", nil
}

func lintPercentEncoding(v string, _ int) (string, error) {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f' }
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && (i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2])) {
			return fmt.Sprintf("bad percent-encoding at %d", i), ErrInvalidValue
		}
	}
	return "", nil
}

// lintIBAN checks the shape of an IBAN (ISO 13616: country letters, two
// check digits, up to 30 letters and digits) and its ISO 7064 mod 97-10
// check digits. The length of each country's IBAN is not checked.
func lintIBAN(v string, _ int) (string, error) {
	isUpper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	if len(v) < 5 || !isUpper(v[0]) || !isUpper(v[1]) || !isDigits(v[2:4]) {
		return "want country letters and two check digits", ErrInvalidValue
	}
	rem := 0
	for _, c := range []byte(v[4:] + v[:4]) {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return fmt.Sprintf("byte %#02x is not an IBAN character", c), ErrInvalidValue
		}
	}
	if rem != 1 {
		return "IBAN check digits do not match", ErrCheckDigit
	}
	return "", nil
}

// atoi reads a short string of digits; callers check that it is one.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
