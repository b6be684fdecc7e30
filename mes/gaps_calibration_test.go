package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// TestCheckCalibration shows what a calibration's data must be, read as
// the equipment facts read it: every problem is reported, each with its
// code.
func TestCheckCalibration(t *testing.T) {
	t.Parallel()
	due := `"` + now.Add(30*24*time.Hour).Format(time.RFC3339) + `"`
	tests := []struct {
		name  string
		data  string
		codes []gate.Code // none: accepted
	}{
		{"valid, due later", `{"status":"valid","due":` + due + `}`, nil},
		{"valid with a minimum weight", `{"status":"valid","due":` + due + `,"min_weight":"0.5","min_weight_unit":"kg"}`, nil},
		{"minimum weight as a number", `{"status":"valid","due":` + due + `,"min_weight":0.5,"min_weight_unit":"kg"}`, nil},
		{"failed, without a due date", `{"status":"failed"}`, nil},
		{"not required", `{"status":"not-required"}`, nil},
		{"no status", `{"due":` + due + `}`, []gate.Code{mes.CodeCalibrationStatus}},
		{"unknown status", `{"status":"ok","due":` + due + `}`, []gate.Code{mes.CodeCalibrationStatus}},
		{"valid without a due date", `{"status":"valid"}`, []gate.Code{mes.CodeCalibrationDueMissing}},
		{"valid, due date null", `{"status":"valid","due":null}`, []gate.Code{mes.CodeCalibrationDueMissing}},
		{"due before the calibration", `{"status":"valid","due":"2000-01-01T00:00:00Z"}`, []gate.Code{mes.CodeCalibrationDueNotAfter}},
		{"due at the calibration", `{"status":"valid","due":"` + now.Format(time.RFC3339Nano) + `"}`, []gate.Code{mes.CodeCalibrationDueNotAfter}},
		{"due date that is not a time", `{"status":"valid","due":"tomorrow"}`, []gate.Code{mes.CodeCalibrationData}},
		{"minimum weight that is not a number", `{"status":"valid","due":` + due + `,"min_weight":"abc","min_weight_unit":"kg"}`,
			[]gate.Code{mes.CodeCalibrationData}},
		{"status that is not a string", `{"status":1,"due":` + due + `}`, []gate.Code{mes.CodeCalibrationData}},
		{"misspelt field", `{"status":"valid","due":` + due + `,"min_weigth":"0.5","min_weight_unit":"kg"}`, []gate.Code{mes.CodeCalibrationData}},
		{"negative minimum weight", `{"status":"valid","due":` + due + `,"min_weight":"-1","min_weight_unit":"kg"}`,
			[]gate.Code{mes.CodeCalibrationMinWeight}},
		{"zero minimum weight", `{"status":"valid","due":` + due + `,"min_weight":"0","min_weight_unit":"kg"}`,
			[]gate.Code{mes.CodeCalibrationMinWeight}},
		{"minimum weight without a unit", `{"status":"valid","due":` + due + `,"min_weight":"0.5"}`, []gate.Code{mes.CodeCalibrationMinWeight}},
		{"unit without a minimum weight", `{"status":"valid","due":` + due + `,"min_weight_unit":"kg"}`, []gate.Code{mes.CodeCalibrationMinWeight}},
		{"minimum weight out of range", `{"status":"valid","due":` + due + `,"min_weight":"1e-2000","min_weight_unit":"kg"}`,
			[]gate.Code{mes.CodeCalibrationMinWeight}},
		{"everything wrong at once", `{"status":"valid","due":"2000-01-01T00:00:00Z","min_weight":"-1"}`,
			[]gate.Code{mes.CodeCalibrationDueNotAfter, mes.CodeCalibrationMinWeight}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []gate.Code
			for _, r := range mes.CheckCalibration(json.RawMessage(tt.data), now) {
				if r.Message == "" {
					t.Errorf("reason %s has no message", r.Code)
				}
				got = append(got, r.Code)
			}
			if diff := cmp.Diff(tt.codes, got); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalibrateDenied records calibrations through the engine on both
// stores: a calibration that could not be one is denied with its codes, the
// denial is on the equipment's record, and the equipment's facts do not
// change; a good one changes them.
func TestCalibrateDenied(t *testing.T) {
	t.Parallel()
	ptr := func(s string) *decimal.Decimal { d := decimal.RequireFromString(s); return &d }
	later := now.Add(30 * 24 * time.Hour)
	tests := []struct {
		name  string
		c     mes.Calibration
		opts  []mes.Option
		codes []gate.Code
	}{
		{"no status", mes.Calibration{Due: later}, nil, []gate.Code{mes.CodeCalibrationStatus}},
		{"valid without a due date", mes.Calibration{Status: gate.CalibrationValid}, nil, []gate.Code{mes.CodeCalibrationDueMissing}},
		{"due before the calibration", mes.Calibration{Status: gate.CalibrationValid, Due: now.Add(-time.Hour)}, nil,
			[]gate.Code{mes.CodeCalibrationDueNotAfter}},
		{"negative minimum weight", mes.Calibration{Status: gate.CalibrationValid, Due: later, MinWeight: ptr("-0.5"), MinWeightUnit: "kg"}, nil,
			[]gate.Code{mes.CodeCalibrationMinWeight}},
		{"minimum weight without a unit", mes.Calibration{Status: gate.CalibrationValid, Due: later, MinWeight: ptr("0.5")}, nil,
			[]gate.Code{mes.CodeCalibrationMinWeight}},
		{"site's role gate beside the check", mes.Calibration{Status: gate.CalibrationValid}, []mes.Option{mes.WithGates(must[gate.Gate](t)(gate.RequireRole("metrology")))},
			[]gate.Code{gate.CodeRoleMissing, mes.CodeCalibrationDueMissing}},
	}
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		e, _, _ := newEngineOn(t, s)
		read := func(t *testing.T) gate.Equipment {
			t.Helper()
			eq, err := mes.NewFacts(s, "", nil).Equipment(ctx, "SC-01")
			if err != nil {
				t.Fatalf("read SC-01: %v", err)
			}
			return eq
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := read(t)
				recsBefore := must[[]audit.Record](t)(s.Load(ctx, event.EquipmentStream("SC-01"), 1))
				_, err := e.Calibrate(ctx, mes.CalibrationRequest{CommandID: "cal-" + string(rune('a'+i)), Actor: "admin", Equipment: "SC-01", Calibration: tt.c}, tt.opts...)
				var de *mes.DeniedError
				if !errors.As(err, &de) {
					t.Fatalf("Calibrate: %v, want a denial", err)
				}
				var got []gate.Code
				for _, r := range de.Reasons {
					got = append(got, r.Code)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tt.codes))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("codes (-want +got):\n%s", diff)
				}
				recs := must[[]audit.Record](t)(s.Load(ctx, event.EquipmentStream("SC-01"), 1))
				if len(recs) != len(recsBefore)+1 || recs[len(recs)-1].Type != event.Denied {
					t.Fatalf("SC-01 has %d records, the last %s; want the denial appended", len(recs), recs[len(recs)-1].Type)
				}
				var p event.Transition
				if err := json.Unmarshal(recs[len(recs)-1].Payload, &p); err != nil {
					t.Fatal(err)
				}
				var recorded []gate.Code
				for _, r := range p.Reasons {
					recorded = append(recorded, r.Code)
				}
				slices.Sort(recorded)
				if diff := cmp.Diff(want, recorded); diff != "" {
					t.Errorf("codes on the record (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, read(t)); diff != "" {
					t.Errorf("SC-01's facts changed on a denial (-before +after):\n%s", diff)
				}
			})
		}
		out, err := e.Calibrate(ctx, mes.CalibrationRequest{CommandID: "cal-good", Actor: "admin", Equipment: "SC-01", Calibration: mes.Calibration{Status: gate.CalibrationValid, Due: later,
			MinWeight: ptr("0.5"), MinWeightUnit: "kg"}})
		if err != nil || out.Records[0].Type != event.EquipmentCalibrated {
			t.Fatalf("a good calibration: %v, %+v", err, out)
		}
		eq := read(t)
		if eq.Calibration != gate.CalibrationValid || !eq.CalibrationDue.Equal(later) || !eq.MinWeight.Equal(*ptr("0.5")) || eq.MinWeightUnit != "kg" {
			t.Errorf("SC-01 after a good calibration: %+v", eq)
		}
		if _, err := storage.Verify(ctx, s, nil, nil); err != nil {
			t.Errorf("audit trail: %v", err)
		}
	})
}

// TestCalibrateThroughExecuteChecked runs the equipment model's calibrate
// command directly, as an integrator may: data that could not be a
// calibration is denied there too, on the record, and the equipment stays
// readable.
func TestCalibrateThroughExecuteChecked(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		e, _, _ := newEngineOn(t, s)
		m := must[*mes.Model](t)(mes.EquipmentModel())
		for i, data := range []string{``, `{"status":"valid","due":"tomorrow"}`, `{"status":"valid","due":"2026-12-25T09:00:00Z","min_weight":"abc","min_weight_unit":"kg"}`} {
			_, err := e.Execute(ctx, mes.Request{ID: fmt.Sprint("raw-cal-", i), Model: m, Subject: event.EquipmentStream("SC-01"),
				Command: mes.CmdCalibrate, Actor: "admin", Data: json.RawMessage(data)})
			var de *mes.DeniedError
			if !errors.As(err, &de) || len(de.Reasons) == 0 || de.Reasons[0].Gate != "calibration-data" {
				t.Errorf("calibrate with %q: %v, want a denial by calibration-data", data, err)
			}
		}
		if _, err := mes.NewFacts(s, "", nil).Equipment(ctx, "SC-01"); err != nil {
			t.Errorf("SC-01 after the denials: %v", err)
		}
	})
}
