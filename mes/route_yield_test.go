package mes_test

import (
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/mes/route"

	"github.com/interlock-mes/interlock/mes/release"

	"github.com/google/go-cmp/cmp"
)

// TestRouteYield: a route's yield is part of its canonical content (its
// digest changes with it, a route without one keeps its digest), it reads
// back, bad yields are refused, and reconciliation checks a batch against
// it.
func TestRouteYield(t *testing.T) {
	t.Parallel()
	plain := routeFixture()
	before, err := plain.Digest()
	if err != nil {
		t.Fatal(err)
	}
	r := routeFixture()
	r.Yield = &route.Yield{Expected: routeDec("1000"), Unit: "ea", Range: route.Range{Min: routeDec("98"), Max: routeDec("101.5")}}
	with, err := r.Digest()
	if err != nil || with == before {
		t.Fatalf("digest with a yield %s (%v); want one other than %s", with, err, before)
	}
	r2 := routeFixture()
	r2.Yield = &route.Yield{Expected: routeDec("1000.0"), Unit: "ea", Range: route.Range{Min: routeDec("98.00"), Max: routeDec("101.5")}}
	if d, _ := r2.Digest(); d != with {
		t.Errorf("the same yield written differently digests to %s, not %s", d, with)
	}
	c, _ := r.Canonical()
	got, err := route.Parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got, routeCmp); diff != "" {
		t.Errorf("ParseRoute(Canonical()) (-want +got):\n%s", diff)
	}
	for name, y := range map[string]*route.Yield{
		"no output":      {Expected: routeDec("0"), Unit: "ea", Range: route.Range{Min: routeDec("98"), Max: routeDec("102")}},
		"no unit":        {Expected: routeDec("1000"), Range: route.Range{Min: routeDec("98"), Max: routeDec("102")}},
		"inverted range": {Expected: routeDec("1000"), Unit: "ea", Range: route.Range{Min: routeDec("102"), Max: routeDec("98")}},
		"negative":       {Expected: routeDec("1000"), Unit: "ea", Range: route.Range{Min: routeDec("-1"), Max: routeDec("98")}},
	} {
		bad := routeFixture()
		bad.Yield = y
		if err := bad.Validate(); !errors.Is(err, route.ErrInvalid) {
			t.Errorf("%s: Validate = %v; want ErrInvalidRoute", name, err)
		}
	}
	for actual, within := range map[string]bool{"975": false, "980": true, "1015": true, "1016": false} {
		res, err := release.Reconcile(release.ReconcileInput{Yield: r.YieldCheck(routeDec(actual))})
		if err != nil {
			t.Fatal(err)
		}
		if res.Yield == nil || res.Yield.Within != within {
			t.Errorf("yield of %s ea: %+v; want within = %v", actual, res.Yield, within)
		}
	}
	if plain.YieldCheck(routeDec("1")) != nil {
		t.Error("a route without a yield gave a yield check")
	}
}
