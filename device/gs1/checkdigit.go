package gs1

// gs1CheckDigit returns the GS1 mod-10 check digit for body, a string of
// digits: weights 3 and 1 alternate from the rightmost digit of the body, and
// the check digit brings the weighted sum up to a multiple of ten. The same
// algorithm serves GTIN-8/12/13/14, SSCC, GLN and GSIN.
func gs1CheckDigit(body string) byte {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// verifyCheckDigit reports whether the last digit of s is the GS1 check digit
// of the rest, and which digit that would be. s must be digits only.
func verifyCheckDigit(s string) (want byte, ok bool) {
	want = gs1CheckDigit(s[:len(s)-1])
	return want, want == s[len(s)-1]
}

// normalizeGTIN pads a GTIN-8, GTIN-12 or GTIN-13 with leading zeros to the
// 14 digits GS1 element strings carry; the check digit is unchanged by the
// padding because the weights are counted from the right.
func normalizeGTIN(s string) (string, bool) {
	switch len(s) {
	case 8, 12, 13, 14:
		return "00000000000000"[:14-len(s)] + s, true
	}
	return "", false
}
