package gs1_test

import (
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/device/gs1"
)

func ExampleParser_ParseDigitalLink() {
	p, err := gs1.NewParser(&gs1.Config{
		Clock: func() time.Time { return time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := p.ParseDigitalLink("https://id.example.com/01/09506000134352/10/ABC%2F1/21/xyz?17=271231&3103=000195&linkType=all")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range d.Elements {
		fmt.Printf("(%s) %s\n", e.AI, e.Value)
	}
	fmt.Println("GTIN:", d.GTIN, "batch:", d.Batch, "serial:", d.Serial)
	fmt.Println("expiry:", d.Expiry, "net weight:", d.NetWeight.Value, d.NetWeight.Unit)

	// The same data as an element string, as a GS1 DataMatrix would carry it.
	s, err := gs1.EncodeElementString(gs1.SymbologyGS1DataMatrix, d.Elements)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", s)
	// Output:
	// (01) 09506000134352
	// (10) ABC/1
	// (21) xyz
	// (17) 271231
	// (3103) 000195
	// GTIN: 09506000134352 batch: ABC/1 serial: xyz
	// expiry: 2027-12-31 net weight: 0.195 kg
	// "]d2010950600013435210ABC/1\x1d21xyz\x1d172712313103000195"
}
