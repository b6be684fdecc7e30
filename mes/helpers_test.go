package mes

import (
	"testing"

	"github.com/shopspring/decimal"
)

func decimalOf(tb testing.TB, s string) decimal.Decimal {
	tb.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
