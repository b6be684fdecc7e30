package mes_test

import (
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes/route"
)

// The route fixture of package route's own tests, for the tests here that
// run routes through the engine.

func routeDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func routeDecPtr(s string) *decimal.Decimal {
	d := routeDec(s)
	return &d
}

// routeFixture is a valid route using every kind of requirement and branch:
// dispense with a re-weigh loop, then a pH check that opens a deviation
// when out of range.
func routeFixture() *route.Route {
	return &route.Route{
		Product: "P-100",
		Version: 1,
		Operations: []route.Operation{
			{ID: "OP10", Name: "Dispensing", Steps: []route.Step{
				{ID: "S10", Instructions: "Scan the API lot.", Requirements: []route.Requirement{
					route.ScanLot{Name: "api-lot", Material: "API-100"},
				}},
				{ID: "S20", Instructions: "Weigh 12.5 kg of API.", Requirements: []route.Requirement{
					route.Weigh{Name: "net-weight", Material: "API-100", Target: routeDec("12.50"), Below: routeDec("0.05"), Above: routeDec("0.05"),
						Unit: "kg", Bounds: gate.Inclusive, InstrumentClass: "floor-scale-10g", RequireDevice: true},
					route.SecondPersonVerification{Meaning: "verified", Roles: []string{"qa", "supervisor"}},
				}, Branches: []route.Branch{
					{When: &route.Condition{Value: "net-weight", Outside: &route.Range{Min: routeDec("12.45"), Max: routeDec("12.55")}}, GoTo: "S25"},
					{GoTo: "S30"},
				}},
				{ID: "S25", Instructions: "Return the excess and weigh again.", Branches: []route.Branch{{GoTo: "S20"}}},
			}},
			{ID: "OP20", Name: "Blending", Steps: []route.Step{
				{ID: "S30", Instructions: "Blend and record the pH.", Requirements: []route.Requirement{
					route.RecordValue{Name: "ph", Min: routeDecPtr("0"), Max: routeDecPtr("14")},
					route.RecordValue{Name: "appearance"},
				}, Branches: []route.Branch{
					{When: &route.Condition{Value: "appearance", Equals: "cloudy"}, OpenException: "deviation"},
					{When: &route.Condition{Value: "ph", Outside: &route.Range{Min: routeDec("6.5"), Max: routeDec("7.5")}}, OpenException: "deviation"},
				}},
				{ID: "S40", Instructions: "Discharge into drums."},
			}},
		},
	}
}

// routeCmp compares routes by their decimals' values.
var routeCmp = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
