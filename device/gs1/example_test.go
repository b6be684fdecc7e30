package gs1_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/device/gs1"
)

func ExampleParser_ParseElementString() {
	p, err := gs1.NewParser(&gs1.Config{
		Clock: func() time.Time { return time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// As a scanner sends a GS1-128 symbol: identifier, GTIN, batch ended by
	// FNC1 (GS), expiry with day 00 (end of month), net weight in kg with
	// three decimals.
	d, err := p.ParseElementString("]C1" + "0109506000134352" + "10LOT-42\x1d" + "17271100" + "3103001250")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("symbology:", d.Symbology)
	for _, e := range d.Elements {
		fmt.Printf("(%s) %s\n", e.AI, e.Value)
	}
	fmt.Println("GTIN:", d.GTIN)
	fmt.Println("batch:", d.Batch)
	fmt.Println("expiry:", d.Expiry)
	fmt.Println("net weight:", d.NetWeight.Value, d.NetWeight.Unit)

	_, err = p.ParseElementString("]C1" + "0109506000134353")
	fmt.Println(errors.Is(err, gs1.ErrCheckDigit), err)
	// Output:
	// symbology: ]C1
	// (01) 09506000134352
	// (10) LOT-42
	// (17) 271100
	// (3103) 001250
	// GTIN: 09506000134352
	// batch: LOT-42
	// expiry: 2027-11-30
	// net weight: 1.25 kg
	// true gs1 (01) "09506000134353": bad check digit: want check digit 2
}
