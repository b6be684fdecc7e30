package mestest_test

import (
	"context"
	"testing"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
)

func TestPlantGivesTheFactsGatesRead(t *testing.T) {
	env := mestest.New(t, nil).Plant()
	f := mes.NewFacts(env.Store, "", nil)
	ctx := context.Background()
	lot, err := f.Lot(ctx, "L7")
	if err != nil || lot.Status != gate.LotReleased || lot.Material != "API-100" {
		t.Errorf("lot L7 = %+v, %v; want released API-100", lot, err)
	}
	p, err := f.Person(ctx, "op-7")
	if err != nil || len(p.Roles) != 1 || p.Roles[0] != "operator" {
		t.Errorf("person op-7 = %+v, %v; want role operator", p, err)
	}
	eq, err := f.Equipment(ctx, "SC-01")
	if err != nil || eq.Calibration != gate.CalibrationValid || !eq.CalibrationDue.After(mestest.Now) {
		t.Errorf("scale SC-01 = %+v, %v; want a valid calibration due after Now", eq, err)
	}
	recs, err := env.Store.Load(ctx, event.PersonStream("op-7"), 1)
	if err != nil || len(recs) != 3 || recs[0].Actor != "admin" {
		t.Errorf("op-7's stream: %d records, %v; want 3 by admin", len(recs), err)
	}
	env.Clock.Advance(48 * 3600e9)
	if got := env.Clock.Now(); !got.Equal(mestest.Now.Add(48 * 3600e9)) {
		t.Errorf("clock after Advance = %v", got)
	}
}
