package gs1_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/device/gs1"
)

func ExampleParser_ParseScan() {
	p, err := gs1.NewParser(&gs1.Config{
		Clock: func() time.Time { return time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, scan := range []string{
		"]d2" + "0109506000134352" + "10LOT-42\x1d" + "17271130",               // GS1 DataMatrix
		"]Q1" + "https://id.example.com/01/09506000134352/10/LOT-42?17=271130", // QR Code with a Digital Link
		"]E0" + "9506000134352", // EAN-13: no GS1 element strings
	} {
		d, err := p.ParseScan(scan)
		if err != nil {
			fmt.Println(errors.Is(err, gs1.ErrNotGS1), err)
			continue
		}
		fmt.Println(d.Symbology, d.GTIN, d.Batch, d.Expiry)
	}
	// Output:
	// ]d2 09506000134352 LOT-42 2027-11-30
	// ]Q1 09506000134352 LOT-42 2027-11-30
	// true gs1 "]E09506000134352": not GS1 data: symbology identifier ]E0 announces neither GS1 element strings nor a Digital Link
}

func ExampleParser_ParseHRI() {
	p, err := gs1.NewParser(&gs1.Config{
		Clock: func() time.Time { return time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := p.ParseHRI("(01)09506000134352(17)201225(10)ABC123")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.GTIN, d.Expiry, d.Batch)

	// A batch without the GTIN it belongs to breaks the dictionary's
	// pairing rules.
	_, err = p.ParseHRI("(10)ABC123")
	fmt.Println(errors.Is(err, gs1.ErrPairing), err)
	// Output:
	// 09506000134352 2020-12-25 ABC123
	// true gs1 (10) "ABC123": invalid pairing of application identifiers: (10) needs (01), (02), (03), (8006) or (8026)
}
