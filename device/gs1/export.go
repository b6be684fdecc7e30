package gs1

import "fmt"

// GTIN14 returns gtin, a GTIN-8, -12, -13 or -14, as the 14 digits GS1
// element strings carry (padded with leading zeros, which leaves the check
// digit unchanged). It returns an *Error matching ErrInvalidCharacter for
// a value that is not 8, 12, 13 or 14 digits, and one matching
// ErrCheckDigit, with the digit it wants, when the check digit is wrong.
func GTIN14(gtin string) (string, error) {
	g, ok := normalizeGTIN(gtin)
	if !ok || !isDigits(g) {
		return "", &Error{AI: "01", Value: gtin, Err: ErrInvalidCharacter, Reason: "want 8, 12, 13 or 14 digits"}
	}
	if want, ok := verifyCheckDigit(g); !ok {
		return "", &Error{AI: "01", Value: gtin, Err: ErrCheckDigit, Reason: fmt.Sprintf("want check digit %c", want)}
	}
	return g, nil
}

// CheckValue checks what can be checked of value as the data of AI ai
// without a clock: that the AI is known, and the value's length, character
// sets, check digits and the dictionary's other checks that the package
// runs (29 February passes in every year divisible by four). It returns an
// *Error like ParseElementString does.
func CheckValue(ai, value string) error {
	def, ok := aiTable[ai]
	if !ok {
		return &Error{AI: ai, Value: value, Err: ErrUnknownAI, Reason: "not an AI of the table"}
	}
	return checkValue(def, value, 0)
}

// Valid reports whether d names a day of the proleptic Gregorian calendar.
func (d Date) Valid() bool { return d.valid() }

// YYMMDD returns d in the six-digit form of the GS1 date AIs.
func (d Date) YYMMDD() string { return d.yymmdd() }
