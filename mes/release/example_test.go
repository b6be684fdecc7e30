package release_test

import (
	"fmt"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/mes/release"
)

// Reconcile a batch at completion: 12.50 kg of API issued, 12.49 kg
// consumed and 0.01 kg returned balance exactly; 12.10 kg made of 12.50 kg
// expected is a 96.8 % yield, below the 98–101 % range.
func ExampleReconcile() {
	d := decimal.RequireFromString
	r, err := release.Reconcile(release.ReconcileInput{
		Materials: []release.MaterialBalance{{Material: "API-100", Unit: "kg",
			Issued: d("12.50"), Consumed: d("12.49"), Returned: d("0.01"), Tolerance: d("0.005")}},
		Yield: &route.YieldCheck{Expected: d("12.50"), Actual: d("12.10"), Unit: "kg",
			Range: route.Range{Min: d("98"), Max: d("101")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("balanced:", r.Balanced())
	for _, m := range r.Materials {
		fmt.Printf("%s: difference %s %s, within %v\n", m.Material, m.Difference, m.Unit, m.Within)
	}
	for _, x := range r.Discrepancies {
		fmt.Println(x.Code, x.Message)
	}
	// Output:
	// balanced: false
	// API-100: difference 0 kg, within true
	// reconcile.yield-below-range yield 96.8% (12.1 of 12.5 kg) is below the range 98% to 101%
}
