// Package quantity bounds the decimals Interlock accepts as quantities, so
// that arithmetic on them stays cheap: comparing two decimals rescales one
// to the other's exponent, and an input such as "1e999999999" would
// otherwise cost gigabytes. No shop-floor quantity comes near 10^±100.
package quantity

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// MaxExponent bounds the decimal exponent of any quantity.
const MaxExponent = 100

// MaxDigits bounds the significant digits of a quantity.
const MaxDigits = 100

// InBounds reports whether d is within MaxExponent and MaxDigits, without
// rescaling it.
func InBounds(d decimal.Decimal) bool {
	exp := d.Exponent()
	if exp > MaxExponent || exp < -MaxExponent {
		return false
	}
	// A coefficient of b bits has at most b*0.302+1 decimal digits.
	return d.Coefficient().BitLen()*302/1000 < MaxDigits
}

// Parse parses a decimal within the bounds; its length is checked before
// anything is parsed.
func Parse(s string) (decimal.Decimal, error) {
	if len(s) > 2*MaxDigits {
		return decimal.Decimal{}, fmt.Errorf("%d characters is too long for a quantity", len(s))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if !InBounds(d) {
		return decimal.Decimal{}, fmt.Errorf("%q is out of range for a quantity", s)
	}
	return d, nil
}
