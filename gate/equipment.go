package gate

import (
	"context"
	"errors"
	"fmt"
)

// EquipmentReady returns a gate that passes when the equipment named by id is
// ready at the attempt's time: its status is available; its calibration is
// valid with a due instant strictly after Attempt.Time (or not required);
// and it is clean, with a clean hold time (if any) ending strictly after
// Attempt.Time (or cleaning is not required). It reads Facts.Equipment and
// reports every condition that fails: CodeEquipmentUnavailable,
// CodeCalibrationInvalid, CodeCalibrationOverdue, CodeNotClean,
// CodeCleanExpired; before that, CodeTimeMissing, CodeEquipmentUnknown, or
// the codes of resolving id. Its reasons are named "equipment-ready". It
// returns an error when id is invalid.
func EquipmentReady(id ID) (Gate, error) {
	if err := id.validate(); err != nil {
		return nil, fmt.Errorf("gate: EquipmentReady: %w", err)
	}
	return builtin("equipment-ready", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		eid, r := id.resolve(a, "equipment")
		if r != nil {
			return Fail(*r), nil
		}
		if a.Time.IsZero() {
			return fail(CodeTimeMissing, "the attempt has no time at which to check equipment %s", eid), nil
		}
		e, err := f.Equipment(ctx, eid)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodeEquipmentUnknown, "equipment %s is not known", eid), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("equipment %s: %w", eid, err)
		}
		return equipmentReady(eid, e, a), nil
	}), nil
}

func equipmentReady(id string, e Equipment, a *Attempt) Verdict {
	var fs failures
	if e.Status != EquipmentAvailable {
		fs.add(CodeEquipmentUnavailable, "equipment %s is %s, not available", id, orUnset(string(e.Status)))
	}
	switch {
	case e.Calibration == CalibrationNotRequired:
	case e.Calibration != CalibrationValid:
		fs.add(CodeCalibrationInvalid, "equipment %s has calibration status %s, not valid", id, orUnset(string(e.Calibration)))
	case e.CalibrationDue.IsZero():
		fs.add(CodeCalibrationInvalid, "equipment %s has a valid calibration without a due date", id)
	case !a.Time.Before(e.CalibrationDue):
		fs.add(CodeCalibrationOverdue, "equipment %s was due for calibration on %s", id, formatTime(e.CalibrationDue))
	}
	switch {
	case e.Clean == CleaningNotRequired:
	case e.Clean != Clean:
		fs.add(CodeNotClean, "equipment %s is %s, not clean", id, orUnset(string(e.Clean)))
	case !e.CleanUntil.IsZero() && !a.Time.Before(e.CleanUntil):
		fs.add(CodeCleanExpired, "equipment %s was clean only until %s and must be cleaned again", id, formatTime(e.CleanUntil))
	}
	return fs.verdict()
}

// orUnset shows an empty status in a message.
func orUnset(s string) string {
	if s == "" {
		return "of no recorded status"
	}
	return s
}
