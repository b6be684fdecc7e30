package quantity

import (
	"strings"

	"github.com/shopspring/decimal"
)

// unit is a unit of measure: its dimension and how many of the
// dimension's base unit one of it is, as a power of ten, so that every
// conversion is exact.
type unit struct {
	dim string
	exp int32 // one of it is 10^exp base units
}

// units are the units Convert knows, by their lower-case spelling. Mass is
// in grams, volume in millilitres, count in pieces (ea and pcs are one
// unit, as the lot labels and EPCIS export treat them).
var units = map[string]unit{
	"µg": {"mass", -6}, "ug": {"mass", -6}, "mcg": {"mass", -6},
	"mg": {"mass", -3}, "g": {"mass", 0}, "kg": {"mass", 3}, "t": {"mass", 6},
	"µl": {"volume", -3}, "ul": {"volume", -3},
	"ml": {"volume", 0}, "cl": {"volume", 1}, "dl": {"volume", 2}, "l": {"volume", 3}, "m3": {"volume", 6},
	"ea": {"count", 0}, "pcs": {"count", 0},
}

// Compatible reports whether quantities in units a and b can be converted
// into each other: the same unit, or two units of one dimension Convert
// knows.
func Compatible(a, b string) bool {
	if a == b {
		return true
	}
	ua, okA := units[strings.ToLower(a)]
	ub, okB := units[strings.ToLower(b)]
	return okA && okB && ua.dim == ub.dim
}

// Convert returns q, given in unit from, in unit to, exactly (the factors
// are powers of ten, so no digit is lost). ok is false when the units are
// not Compatible; q is then returned unchanged.
func Convert(q decimal.Decimal, from, to string) (decimal.Decimal, bool) {
	if from == to {
		return q, true
	}
	uf, okF := units[strings.ToLower(from)]
	ut, okT := units[strings.ToLower(to)]
	if !okF || !okT || uf.dim != ut.dim {
		return q, false
	}
	return q.Shift(uf.exp - ut.exp), true
}
