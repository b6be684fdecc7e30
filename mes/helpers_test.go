package mes_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/storage"
)

func decimalOf(tb testing.TB, s string) decimal.Decimal {
	tb.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func loadLot(s storage.Store, lot string) ([]audit.Record, error) {
	return s.Load(context.Background(), event.LotStream(lot), 1)
}
