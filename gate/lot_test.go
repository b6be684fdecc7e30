package gate_test

import (
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
	"github.com/shopspring/decimal"
)

func TestLotUsable(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.LotUsable(gate.FromRef("lot"), "MAT-100", "MAT-101"))
	edit := func(fn func(l *gate.Lot)) func(*fakeFacts) {
		return func(f *fakeFacts) {
			l := f.lots["lot-L7"]
			fn(&l)
			f.lots["lot-L7"] = l
		}
	}
	reason := func(code gate.Code, msg string) gate.Reason {
		return gate.Reason{Gate: "lot-usable", Code: code, Message: msg}
	}
	runChecks(t, g, []checkCase{
		{name: "Pass"},
		{name: "PassSubstituteMaterial", facts: edit(func(l *gate.Lot) { l.Material = "MAT-101" })},
		{name: "PassNoExpiry", facts: edit(func(l *gate.Lot) { l.Expiry = time.Time{} })},
		{name: "PassJustBeforeExpiry", facts: edit(func(l *gate.Lot) { l.Expiry = now.Add(time.Nanosecond) })},
		{
			name:    "RefMissing",
			attempt: func(a *gate.Attempt) { a.Refs = nil },
			want:    []gate.Reason{reason(gate.CodeRefMissing, `the attempt has no reference "lot" naming the lot`)},
		},
		{
			name:    "RefEmpty",
			attempt: func(a *gate.Attempt) { a.Refs["lot"] = "" },
			want:    []gate.Reason{reason(gate.CodeRefMissing, `the attempt has no reference "lot" naming the lot`)},
		},
		{
			name:    "TimeMissing",
			attempt: func(a *gate.Attempt) { a.Time = time.Time{} },
			want:    []gate.Reason{reason(gate.CodeTimeMissing, "the attempt has no time at which to check lot lot-L7")},
		},
		{
			name:    "Unknown",
			attempt: func(a *gate.Attempt) { a.Refs["lot"] = "lot-L8" },
			want:    []gate.Reason{reason(gate.CodeLotUnknown, "lot lot-L8 is not known")},
		},
		{
			name:  "Quarantine",
			facts: edit(func(l *gate.Lot) { l.Status = gate.LotQuarantine }),
			want:  []gate.Reason{reason(gate.CodeLotNotReleased, "lot lot-L7 is quarantine, not released")},
		},
		{
			name:  "Rejected",
			facts: edit(func(l *gate.Lot) { l.Status = gate.LotRejected }),
			want:  []gate.Reason{reason(gate.CodeLotNotReleased, "lot lot-L7 is rejected, not released")},
		},
		{
			// Expiry is exclusive: at that instant the lot is expired.
			name:  "ExpiredAtTheInstant",
			facts: edit(func(l *gate.Lot) { l.Expiry = now }),
			want:  []gate.Reason{reason(gate.CodeLotExpired, "lot lot-L7 expired on 2026-06-15T10:00:00Z")},
		},
		{
			name:  "ExpiredEarlier",
			facts: edit(func(l *gate.Lot) { l.Expiry = time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC) }),
			want:  []gate.Reason{reason(gate.CodeLotExpired, "lot lot-L7 expired on 2026-05-31")},
		},
		{
			name:  "OnHold",
			facts: edit(func(l *gate.Lot) { l.OnHold = true }),
			want:  []gate.Reason{reason(gate.CodeLotOnHold, "lot lot-L7 is on hold")},
		},
		{
			name:  "OnHoldWithReason",
			facts: edit(func(l *gate.Lot) { l.OnHold, l.HoldReason = true, "supplier recall R-3" }),
			want:  []gate.Reason{reason(gate.CodeLotOnHold, "lot lot-L7 is on hold: supplier recall R-3")},
		},
		{
			name:  "WrongMaterial",
			facts: edit(func(l *gate.Lot) { l.Material = "MAT-200" }),
			want: []gate.Reason{reason(gate.CodeLotWrongMaterial,
				"lot lot-L7 is material MAT-200, not one of MAT-100, MAT-101")},
		},
		{
			name:  "NoMaterialRecorded",
			facts: edit(func(l *gate.Lot) { l.Material = "" }),
			want: []gate.Reason{reason(gate.CodeLotWrongMaterial,
				"lot lot-L7 has no recorded material, one of MAT-100, MAT-101 is required")},
		},
		{
			name: "EveryFailureAtOnce",
			facts: edit(func(l *gate.Lot) {
				l.Status, l.Expiry, l.OnHold, l.Material = gate.LotQuarantine, now, true, "MAT-9"
			}),
			want: []gate.Reason{
				reason(gate.CodeLotNotReleased, "lot lot-L7 is quarantine, not released"),
				reason(gate.CodeLotExpired, "lot lot-L7 expired on 2026-06-15T10:00:00Z"),
				reason(gate.CodeLotOnHold, "lot lot-L7 is on hold"),
				reason(gate.CodeLotWrongMaterial, "lot lot-L7 is material MAT-9, not one of MAT-100, MAT-101"),
			},
		},
		{
			name:    "LookupFails",
			facts:   func(f *fakeFacts) { f.err = errStore },
			wantErr: "lot-usable: lot lot-L7: store offline",
		},
	})
}

func TestLotUsableOneMaterialOrAny(t *testing.T) {
	t.Parallel()
	one := mustGate(t)(gate.LotUsable(gate.Literal("lot-L7"), "MAT-200"))
	runChecks(t, one, []checkCase{{
		name: "WrongMaterial",
		want: []gate.Reason{{Gate: "lot-usable", Code: gate.CodeLotWrongMaterial,
			Message: "lot lot-L7 is material MAT-100, not MAT-200"}},
	}})
	anyMaterial := mustGate(t)(gate.LotUsable(gate.FromEvidence("lot-scan")))
	runChecks(t, anyMaterial, []checkCase{
		{name: "Pass", facts: func(f *fakeFacts) {
			l := f.lots["lot-L7"]
			l.Material = "MAT-200"
			f.lots["lot-L7"] = l
		}},
	})
}

func TestLotUsableRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	wantConstructorErrors(t, map[string]func() (gate.Gate, error){
		"ZeroID":        func() (gate.Gate, error) { return gate.LotUsable(gate.ID{}) },
		"EmptyEvidence": func() (gate.Gate, error) { return gate.LotUsable(gate.FromEvidence("")) },
		"EmptyMaterial": func() (gate.Gate, error) { return gate.LotUsable(gate.FromRef("lot"), "MAT-1", "") },
	}, map[string]string{
		"EmptyEvidence": `gate: LotUsable: identity of evidence "": name is empty`,
		"EmptyMaterial": "gate: LotUsable: a material is empty",
	})
}

func TestConsumedLotsUsable(t *testing.T) {
	t.Parallel()
	g := mustGate(t)(gate.ConsumedLotsUsable("MAT-100"))
	consume := func(cs ...gate.Consumption) func(a *gate.Attempt) {
		return func(a *gate.Attempt) { a.Consume = cs }
	}
	kg := func(lot string) gate.Consumption {
		return gate.Consumption{Lot: lot, Quantity: decimal.RequireFromString("1.5"), Unit: "kg"}
	}
	quarantine := func(f *fakeFacts) {
		l := f.lots["lot-L7"]
		l.Status = gate.LotQuarantine
		f.lots["lot-L7"] = l
	}
	runChecks(t, g, []checkCase{
		{name: "NothingConsumed"},
		{name: "Pass", attempt: consume(kg("lot-L7"))},
		{name: "ContainerNotJudged", attempt: consume(gate.Consumption{Container: "pallet-1"}), facts: quarantine},
		{name: "Quarantine", attempt: consume(kg("lot-L7")), facts: quarantine,
			want: []gate.Reason{{Gate: "consumed-lots", Code: gate.CodeLotNotReleased, Message: "lot lot-L7 is quarantine, not released"}}},
		{name: "EveryLot", attempt: consume(kg("lot-L7"), kg("lot-L8")), facts: quarantine,
			want: []gate.Reason{
				{Gate: "consumed-lots", Code: gate.CodeLotNotReleased, Message: "lot lot-L7 is quarantine, not released"},
				{Gate: "consumed-lots", Code: gate.CodeLotUnknown, Message: "lot lot-L8 is not known"},
			}},
	})
	wrong := mustGate(t)(gate.ConsumedLotsUsable("MAT-200"))
	runChecks(t, wrong, []checkCase{{name: "WrongMaterial", attempt: consume(kg("lot-L7")),
		want: []gate.Reason{{Gate: "consumed-lots", Code: gate.CodeLotWrongMaterial, Message: "lot lot-L7 is material MAT-100, not MAT-200"}}}})
	if _, err := gate.ConsumedLotsUsable(""); err == nil {
		t.Error("ConsumedLotsUsable accepted an empty material")
	}
}
