package quantity

import (
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q, from, to, want string
		ok                bool
	}{
		{"5", "kg", "g", "5000", true},
		{"300", "g", "kg", "0.3", true},
		{"0.001", "g", "mg", "1", true},
		{"2.5", "L", "mL", "2500", true},
		{"12", "ea", "pcs", "12", true},
		{"1", "kg", "l", "1", false},
		{"1", "kg", "furlong", "1", false},
		{"7", "box", "box", "7", true},
	} {
		got, ok := Convert(decimal.RequireFromString(c.q), c.from, c.to)
		if ok != c.ok || !got.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("Convert(%s %s to %s) = %s, %v; want %s, %v", c.q, c.from, c.to, got, ok, c.want, c.ok)
		}
		if Compatible(c.from, c.to) != c.ok {
			t.Errorf("Compatible(%s, %s) = %v", c.from, c.to, !c.ok)
		}
	}
}

// TestConvertRoundTrips: converting to any compatible unit and back gives
// the quantity exactly.
func TestConvertRoundTrips(t *testing.T) {
	t.Parallel()
	names := []string{"mg", "g", "kg", "t", "ml", "l", "m3", "ea", "pcs"}
	rapid.Check(t, func(t *rapid.T) {
		q := decimal.New(rapid.Int64().Draw(t, "coefficient"), int32(rapid.IntRange(-20, 20).Draw(t, "exp")))
		a, b := rapid.SampledFrom(names).Draw(t, "a"), rapid.SampledFrom(names).Draw(t, "b")
		there, ok := Convert(q, a, b)
		if ok != Compatible(a, b) {
			t.Fatalf("Convert ok %v, Compatible %v", ok, Compatible(a, b))
		}
		if !ok {
			return
		}
		back, _ := Convert(there, b, a)
		if !back.Equal(q) {
			t.Fatalf("%s %s -> %s %s -> %s %s", q, a, there, b, back, a)
		}
	})
}
