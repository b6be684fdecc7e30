package gate

// The codes of the built-in gates. Each names one condition; a gate reports
// every condition that holds, so one verdict may carry several codes.
const (
	// CodeRefMissing: the attempt has no reference a gate reads (see FromRef).
	CodeRefMissing Code = "attempt.ref-missing"
	// CodeActorMissing: the attempt names no actor.
	CodeActorMissing Code = "attempt.actor-missing"
	// CodeSubjectMissing: the attempt names no subject.
	CodeSubjectMissing Code = "attempt.subject-missing"
	// CodeTimeMissing: the attempt has no time, so nothing dated can be judged.
	CodeTimeMissing Code = "attempt.time-missing"

	// CodeRoleMissing: the actor holds none of the required roles.
	CodeRoleMissing Code = "role.missing"

	// CodePersonUnknown: the Facts do not know the actor.
	CodePersonUnknown Code = "person.unknown"
	// CodeTrainingMissing: the actor has no training record for the skill.
	CodeTrainingMissing Code = "training.missing"
	// CodeTrainingExpired: the actor's training for the skill is no longer valid.
	CodeTrainingExpired Code = "training.expired"

	// CodeEquipmentUnknown: the Facts do not know the equipment.
	CodeEquipmentUnknown Code = "equipment.unknown"
	// CodeEquipmentUnavailable: the equipment's status is not available.
	CodeEquipmentUnavailable Code = "equipment.unavailable"
	// CodeCalibrationInvalid: the calibration status is not valid (failed,
	// unknown), or valid without a due date.
	CodeCalibrationInvalid Code = "equipment.calibration-invalid"
	// CodeCalibrationOverdue: the calibration was due at or before the attempt.
	CodeCalibrationOverdue Code = "equipment.calibration-overdue"
	// CodeNotClean: the equipment is not clean.
	CodeNotClean Code = "equipment.not-clean"
	// CodeCleanExpired: the equipment was clean, but its clean hold time ended
	// at or before the attempt.
	CodeCleanExpired Code = "equipment.clean-expired"

	// CodeLotUnknown: the Facts do not know the lot.
	CodeLotUnknown Code = "lot.unknown"
	// CodeLotNotReleased: the lot's status is not released.
	CodeLotNotReleased Code = "lot.not-released"
	// CodeLotExpired: the lot expired at or before the attempt.
	CodeLotExpired Code = "lot.expired"
	// CodeLotOnHold: the lot is on hold.
	CodeLotOnHold Code = "lot.on-hold"
	// CodeLotWrongMaterial: the lot is not of an allowed material.
	CodeLotWrongMaterial Code = "lot.wrong-material"

	// CodeEvidenceMissing: the attempt carries no evidence of the name a gate
	// reads.
	CodeEvidenceMissing Code = "evidence.missing"
	// CodeEvidenceDuplicate: the attempt carries several pieces of evidence of
	// that name, so which one counts is ambiguous.
	CodeEvidenceDuplicate Code = "evidence.duplicate"
	// CodeEvidenceNoIdentity: the evidence carries no scanned identity.
	CodeEvidenceNoIdentity Code = "evidence.no-identity"
	// CodeIdentityMismatch: the evidence identifies something other than the
	// identity required.
	CodeIdentityMismatch Code = "evidence.identity-mismatch"
	// CodeSourceNotAllowed: the evidence came from a source the gate does not
	// accept (such as manual entry where a device reading is required).
	CodeSourceNotAllowed Code = "evidence.source-not-allowed"
	// CodeUnstable: the instrument did not report the value as stable.
	CodeUnstable Code = "evidence.unstable"

	// CodeValueMissing: the evidence carries no measured value.
	CodeValueMissing Code = "value.missing"
	// CodeUnitMismatch: the value is in another unit than the limits.
	CodeUnitMismatch Code = "value.unit-mismatch"
	// CodeBelowLowerLimit: the value is outside the lower limit.
	CodeBelowLowerLimit Code = "value.below-lower-limit"
	// CodeAboveUpperLimit: the value is outside the upper limit.
	CodeAboveUpperLimit Code = "value.above-upper-limit"

	// CodeSubjectUnknown: the Facts do not know the attempt's subject.
	CodeSubjectUnknown Code = "subject.unknown"
	// CodeStepMissing: a required prior step has no record on the subject.
	CodeStepMissing Code = "step.missing"
	// CodeStepIncomplete: a required prior step is not in a required state.
	CodeStepIncomplete Code = "step.incomplete"

	// CodeExceptionOpen: an exception on the subject is open.
	CodeExceptionOpen Code = "exception.open"
	// CodeExceptionBlocks: an exception open on the subject blocks or holds
	// it.
	CodeExceptionBlocks Code = "exception.blocks"

	// CodeSameActor: the actor recorded an earlier event that the same person
	// may not follow up (self-verification, self-approval).
	CodeSameActor Code = "duty.same-actor"
)

// The codes of the weighing gates (MinimumWeight, GrossMinusTare).
const (
	// CodeMinWeightUnset: the scale has no usable minimum weight (none set,
	// not positive, or without a unit), so no weight on it can be judged.
	CodeMinWeightUnset Code = "equipment.min-weight-unset"
	// CodeBelowMinWeight: the net weight is below the scale's minimum
	// weight.
	CodeBelowMinWeight Code = "value.below-min-weight"
	// CodeWrongInstrument: the evidence was measured on another instrument
	// than the one the gate checks, or the pieces of one weighing come from
	// different instruments or name none.
	CodeWrongInstrument Code = "evidence.wrong-instrument"
	// CodeNetMismatch: the net weight is not the gross weight minus the
	// tare.
	CodeNetMismatch Code = "value.net-mismatch"
)
