package mes

// States and commands of the fact models: the lifecycles of the things gates
// read. Facts change only through these models, run by the engine, so every
// fact has a gated, recorded history.
const (
	FactNew State = "new" // a stream without events

	LotQuarantine State = "quarantine"
	LotReleased   State = "released"
	LotRejected   State = "rejected"
	LotOnHold     State = "on-hold"

	EquipmentInService    State = "in-service"
	EquipmentOutOfService State = "out-of-service"

	PersonActive State = "active"

	CmdReceive       Command = "receive"
	CmdReject        Command = "reject"
	CmdReleaseHold   Command = "release-hold"
	CmdRegister      Command = "register"
	CmdCalibrate     Command = "calibrate"
	CmdClean         Command = "clean"
	CmdTakeOut       Command = "take-out-of-service"
	CmdReturn        Command = "return-to-service"
	CmdGrantRole     Command = "grant-role"
	CmdRevokeRole    Command = "revoke-role"
	CmdRecordTrained Command = "record-training"
)

// LotModel returns the lot lifecycle: received (or produced by a batch, or
// merged from parent lots) into quarantine, released or rejected by QA, held
// and released from hold, split into child lots (Request.Produce with
// LinkSplit; each part starts in quarantine). opts add to every transition
// (for example a role gate); a site adds its own gates per transition by
// building its own model with the same event types.
func LotModel(opts ...Option) (*Model, error) {
	with := sharedOptions(opts)
	return NewModel("lot", 1).
		States(FactNew, LotQuarantine, LotReleased, LotRejected, LotOnHold).
		Initial(FactNew).Final(LotRejected).
		Permit(FactNew, CmdReceive, LotQuarantine, with(Recording(EventLotReceived))...).
		Permit(FactNew, CmdProduce, LotQuarantine, with(Recording(EventLotProduced))...).
		Permit(FactNew, CmdMerge, LotQuarantine, with(Recording(EventLotMerged))...).
		Permit(LotQuarantine, CmdSplit, LotQuarantine, with(Recording(EventLotSplit))...).
		Permit(LotReleased, CmdSplit, LotReleased, with(Recording(EventLotSplit))...).
		Permit(LotQuarantine, CmdRelease, LotReleased, with(Recording(EventLotReleased))...).
		Permit(LotQuarantine, CmdReject, LotRejected, with(Recording(EventLotRejected))...).
		Permit(LotReleased, CmdHold, LotOnHold, with(Recording(EventLotHeld))...).
		Permit(LotOnHold, CmdReleaseHold, LotReleased, with(Recording(EventLotHoldReleased))...).
		Permit(LotOnHold, CmdReject, LotRejected, with(Recording(EventLotRejected))...).
		Build()
}

// EquipmentModel returns the equipment lifecycle: registered, calibrated and
// cleaned while in service, taken out of and returned to service.
func EquipmentModel(opts ...Option) (*Model, error) {
	with := sharedOptions(opts)
	return NewModel("equipment", 1).
		States(FactNew, EquipmentInService, EquipmentOutOfService).
		Initial(FactNew).
		Permit(FactNew, CmdRegister, EquipmentInService, with(Recording(EventEquipmentRegistered))...).
		Permit(EquipmentInService, CmdCalibrate, EquipmentInService, with(Recording(EventEquipmentCalibrated))...).
		Permit(EquipmentInService, CmdClean, EquipmentInService, with(Recording(EventEquipmentCleaned))...).
		Permit(EquipmentInService, CmdTakeOut, EquipmentOutOfService, with(Recording(EventEquipmentStatus))...).
		Permit(EquipmentOutOfService, CmdCalibrate, EquipmentOutOfService, with(Recording(EventEquipmentCalibrated))...).
		Permit(EquipmentOutOfService, CmdReturn, EquipmentInService, with(Recording("equipment.returned"))...).
		Build()
}

// PersonModel returns the person lifecycle: registered, then roles granted
// and revoked and training recorded, each on the record.
func PersonModel(opts ...Option) (*Model, error) {
	with := sharedOptions(opts)
	return NewModel("person", 1).
		States(FactNew, PersonActive).
		Initial(FactNew).
		Permit(FactNew, CmdRegister, PersonActive, with(Recording(EventPersonRegistered))...).
		Permit(PersonActive, CmdGrantRole, PersonActive, with(Recording(EventPersonRoleGranted))...).
		Permit(PersonActive, CmdRevokeRole, PersonActive, with(Recording(EventPersonRoleRevoked))...).
		Permit(PersonActive, CmdRecordTrained, PersonActive, with(Recording(EventPersonTrained))...).
		Build()
}
