package gate_test

import (
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
)

func TestEquipmentReady(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.EquipmentReady(gate.FromRef("equipment")))
	edit := func(fn func(e *gate.Equipment)) func(*fakeFacts) {
		return func(f *fakeFacts) {
			e := f.equipment["SC-01"]
			fn(&e)
			f.equipment["SC-01"] = e
		}
	}
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "equipment-ready", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassCleanWithoutHoldTime", facts: edit(func(e *gate.Equipment) { e.CleanUntil = time.Time{} })},
		{name: "PassNothingRequired", facts: edit(func(e *gate.Equipment) {
			e.Calibration, e.CalibrationDue = gate.CalibrationNotRequired, time.Time{}
			e.Clean, e.CleanUntil = gate.CleaningNotRequired, time.Time{}
		})},
		{
			name:    "RefMissing",
			attempt: func(a *gate.Attempt) { delete(a.Refs, "equipment") },
			want: []gate.Reason{reason(gate.CodeRefMissing,
				`the attempt has no reference "equipment" naming the equipment`)},
		},
		{
			name:    "TimeMissing",
			attempt: func(a *gate.Attempt) { a.Time = time.Time{} },
			want: []gate.Reason{reason(gate.CodeTimeMissing,
				"the attempt has no time at which to check equipment SC-01")},
		},
		{
			name:    "Unknown",
			attempt: func(a *gate.Attempt) { a.Refs["equipment"] = "SC-99" },
			want:    []gate.Reason{reason(gate.CodeEquipmentUnknown, "equipment SC-99 is not known")},
		},
		{
			name:  "InUse",
			facts: edit(func(e *gate.Equipment) { e.Status = gate.EquipmentInUse }),
			want:  []gate.Reason{reason(gate.CodeEquipmentUnavailable, "equipment SC-01 is in-use, not available")},
		},
		{
			name:  "StatusNotRecorded",
			facts: edit(func(e *gate.Equipment) { e.Status = "" }),
			want: []gate.Reason{reason(gate.CodeEquipmentUnavailable,
				"equipment SC-01 is of no recorded status, not available")},
		},
		{
			name:  "CalibrationFailed",
			facts: edit(func(e *gate.Equipment) { e.Calibration = gate.CalibrationFailed }),
			want: []gate.Reason{reason(gate.CodeCalibrationInvalid,
				"equipment SC-01 has calibration status failed, not valid")},
		},
		{
			name:  "CalibrationValidWithoutDueDate",
			facts: edit(func(e *gate.Equipment) { e.CalibrationDue = time.Time{} }),
			want: []gate.Reason{reason(gate.CodeCalibrationInvalid,
				"equipment SC-01 has a valid calibration without a due date")},
		},
		{
			// The due instant is exclusive: at that instant it is overdue.
			name:  "CalibrationDueAtTheInstant",
			facts: edit(func(e *gate.Equipment) { e.CalibrationDue = now }),
			want: []gate.Reason{reason(gate.CodeCalibrationOverdue,
				"equipment SC-01 was due for calibration on 2026-06-15T10:00:00Z")},
		},
		{
			name:  "Dirty",
			facts: edit(func(e *gate.Equipment) { e.Clean = gate.Dirty }),
			want:  []gate.Reason{reason(gate.CodeNotClean, "equipment SC-01 is dirty, not clean")},
		},
		{
			name:  "CleanHoldTimeOver",
			facts: edit(func(e *gate.Equipment) { e.CleanUntil = now }),
			want: []gate.Reason{reason(gate.CodeCleanExpired,
				"equipment SC-01 was clean only until 2026-06-15T10:00:00Z and must be cleaned again")},
		},
		{
			name: "EveryFailureAtOnce",
			facts: edit(func(e *gate.Equipment) {
				e.Status = gate.EquipmentOutOfService
				e.CalibrationDue = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
				e.Clean = gate.Dirty
			}),
			want: []gate.Reason{
				reason(gate.CodeEquipmentUnavailable, "equipment SC-01 is out-of-service, not available"),
				reason(gate.CodeCalibrationOverdue, "equipment SC-01 was due for calibration on 2026-06-01"),
				reason(gate.CodeNotClean, "equipment SC-01 is dirty, not clean"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "equipment-ready: equipment SC-01: store offline",
		},
	})
}

func TestEquipmentReadyFromScannedIdentity(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.EquipmentReady(gate.FromEvidence("scale-scan")))
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{
			name:    "ScannedUnknownEquipment",
			attempt: func(a *gate.Attempt) { a.Evidence[1].Identity = "SC-02" },
			want: []gate.Reason{{Gate: "equipment-ready", Code: gate.CodeEquipmentUnknown,
				Message: "equipment SC-02 is not known"}},
		},
	})
}

func TestEquipmentReadyRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"ZeroID":  func() (gate.Gate, error) { return gate.EquipmentReady(gate.ID{}) },
		"NoName":  func() (gate.Gate, error) { return gate.EquipmentReady(gate.FromRef("")) },
		"NoValue": func() (gate.Gate, error) { return gate.EquipmentReady(gate.Literal("")) },
	}, map[string]string{
		"ZeroID":  "gate: EquipmentReady: id is not set (use FromRef, FromEvidence or Literal)",
		"NoName":  `gate: EquipmentReady: reference "": name is empty`,
		"NoValue": "gate: EquipmentReady: literal id is empty",
	})
}
