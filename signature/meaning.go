package signature

import (
	"fmt"

	"github.com/interlock-mes/interlock"
)

// Meaning is what a signature attests (21 CFR 11.50(a)(3)). The four
// constants cover the usual GMP meanings; a site may define others with
// NewMeaning.
type Meaning string

// The standard meanings.
const (
	Performed Meaning = "performed" // the signer did the work
	Verified  Meaning = "verified"  // a second person checked it (four eyes)
	Reviewed  Meaning = "reviewed"  // the record was read and found complete
	Approved  Meaning = "approved"  // the signer accepts responsibility for release
)

// MaxMeaningLength bounds a meaning, in bytes.
const MaxMeaningLength = 64

// ErrInvalidMeaning is returned for a meaning that breaks the rules of
// NewMeaning.
var ErrInvalidMeaning = interlock.NewInvalid("signature: invalid meaning")

// NewMeaning returns a user-defined meaning such as "released" or
// "approved for shipment". A meaning is shown to people and compared by
// machines, so only one spelling of each is allowed: lower-case ASCII letters
// and digits, words separated by a single space, '-' or '_', starting with a
// letter, at most MaxMeaningLength bytes. Otherwise it returns an error for
// which errors.Is(err, ErrInvalidMeaning) is true.
func NewMeaning(s string) (Meaning, error) {
	m := Meaning(s)
	if err := m.Validate(); err != nil {
		return "", err
	}
	return m, nil
}

// Validate reports whether m follows the rules of NewMeaning.
func (m Meaning) Validate() error {
	if msg := meaningProblem(string(m)); msg != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidMeaning, string(m), msg)
	}
	return nil
}

func meaningProblem(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxMeaningLength:
		return fmt.Sprintf("longer than %d bytes", MaxMeaningLength)
	case s[0] < 'a' || s[0] > 'z':
		return "must start with a lower-case letter"
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == ' ' || c == '-' || c == '_':
			if i == len(s)-1 || !isWordByte(s[i+1]) {
				return "separators must stand alone between words"
			}
		default:
			return fmt.Sprintf("byte %q at %d is not a lower-case letter, digit or separator", c, i)
		}
	}
	return ""
}

func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// String returns the meaning as text.
func (m Meaning) String() string { return string(m) }
