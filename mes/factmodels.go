package mes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/quantity"
)

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

	// The credential commands of the person model. An administrator sets
	// (CmdSetCredential) or unlocks (CmdUnlockCredential) another person's
	// signature credential; a person changes their own secret
	// (CmdChangeSecret). Each allowed one authorises exactly one change of
	// the credential kept by Credentials; an AuthTrail's Gate runs them for
	// the authenticator.
	CmdSetCredential    Command = "set-credential"
	CmdChangeSecret     Command = "change-secret"
	CmdUnlockCredential Command = "unlock-credential"
)

// LotModel returns the lot lifecycle: received (or produced by a batch, or
// merged from parent lots) into quarantine, released or rejected by QA, held
// and released from hold, split into child lots (Request.Produce with
// event.LinkSplit; each part starts in quarantine). opts add to every transition
// (for example a role gate); a site adds its own gates per transition by
// building its own model with the same event types.
func LotModel(opts ...Option) (*Model, error) {
	with := Prepend(opts)
	return NewModel("lot", 1).Of("lot").
		States(FactNew, LotQuarantine, LotReleased, LotRejected, LotOnHold).
		Initial(FactNew).Final(LotRejected).
		Permit(FactNew, CmdReceive, LotQuarantine, with(Recording(event.LotReceived))...).
		Permit(FactNew, CmdProduce, LotQuarantine, with(Recording(event.LotProduced))...).
		Permit(FactNew, CmdMerge, LotQuarantine, with(Recording(event.LotMerged))...).
		Permit(LotQuarantine, CmdSplit, LotQuarantine, with(Recording(event.LotSplit))...).
		Permit(LotReleased, CmdSplit, LotReleased, with(Recording(event.LotSplit))...).
		Permit(LotQuarantine, CmdRelease, LotReleased, with(Recording(event.LotReleased))...).
		Permit(LotQuarantine, CmdReject, LotRejected, with(Recording(event.LotRejected))...).
		Permit(LotReleased, CmdHold, LotOnHold, with(Recording(event.LotHeld))...).
		Permit(LotOnHold, CmdReleaseHold, LotReleased, with(Recording(event.LotHoldReleased))...).
		Permit(LotOnHold, CmdReject, LotRejected, with(Recording(event.LotRejected))...).
		Build()
}

// EquipmentModel returns the equipment lifecycle: registered, calibrated and
// cleaned while in service, taken out of and returned to service. Register
// and take-out data may give the equipment's place ({"location": an
// event.Place}); a place that is not one is denied (CodeLocationInvalid).
// Transitions built with ReadPointFrom record it as their read point.
//
// Its calibrate transitions check the request's Data as a calibration (see
// Engine.Calibrate, which builds it from a typed Calibration): one that
// could not be one is denied and recorded with every reason, whichever way
// the command is run.
func EquipmentModel(opts ...Option) (*Model, error) {
	with := Prepend(opts)
	calibrate := func(o ...Option) []Option { return with(append(o, WithGates(calibrationData))...) }
	return NewModel("equipment", 1).
		States(FactNew, EquipmentInService, EquipmentOutOfService).
		Initial(FactNew).
		Permit(FactNew, CmdRegister, EquipmentInService, with(Recording(event.EquipmentRegistered), WithGates(placeData))...).
		Permit(EquipmentInService, CmdCalibrate, EquipmentInService, calibrate(Recording(event.EquipmentCalibrated))...).
		Permit(EquipmentInService, CmdClean, EquipmentInService, with(Recording(event.EquipmentCleaned))...).
		Permit(EquipmentInService, CmdTakeOut, EquipmentOutOfService, with(Recording(event.EquipmentStatus), WithGates(placeData))...).
		Permit(EquipmentOutOfService, CmdCalibrate, EquipmentOutOfService, calibrate(Recording(event.EquipmentCalibrated))...).
		Permit(EquipmentOutOfService, CmdReturn, EquipmentInService, with(Recording("equipment.returned"))...).
		Build()
}

// PersonModel returns the person lifecycle: registered, then roles granted
// and revoked, training recorded and the signature credential set, changed
// and unlocked, each on the record. A person's roles are a set: granting a
// role held changes nothing, one revocation ends it, and revoking a role
// not held is denied (CodeRoleNotHeld).
//
// Nobody administers themselves: granting or revoking one's own role, and
// setting or unlocking one's own credential, is denied
// (CodeSelfAdministration); only the person changes their own secret
// (CodeNotOwnSecret). opts add to every transition but CmdChangeSecret,
// the person's own act: for example a role gate naming who administers
// people.
func PersonModel(opts ...Option) (*Model, error) {
	with := Prepend(opts)
	return NewModel("person", 1).
		States(FactNew, PersonActive).
		Initial(FactNew).
		Permit(FactNew, CmdRegister, PersonActive, with(Recording(event.PersonRegistered))...).
		Permit(PersonActive, CmdGrantRole, PersonActive, with(Recording(event.PersonRoleGranted), WithGates(notSelf))...).
		Permit(PersonActive, CmdRevokeRole, PersonActive, with(Recording(event.PersonRoleRevoked), WithGates(notSelf, roleHeld))...).
		Permit(PersonActive, CmdRecordTrained, PersonActive, with(Recording(event.PersonTrained))...).
		Permit(PersonActive, CmdSetCredential, PersonActive, with(Recording(event.PersonCredentialSet), WithGates(notSelf))...).
		Permit(PersonActive, CmdUnlockCredential, PersonActive, with(Recording(event.PersonCredentialUnlocked), WithGates(notSelf))...).
		// A person's own act, not administration: the site's options
		// (such as an administrator's role gate) do not apply.
		Permit(PersonActive, CmdChangeSecret, PersonActive, Recording(event.PersonSecretChanged), WithGates(onlySelf)).
		Build()
}

// Codes of the check of a calibration's data (the equipment model's
// calibrate transitions, and so Engine.Calibrate).
const (
	// CodeCalibrationData: the calibration's data is not a Calibration:
	// a field of the wrong type, or one a Calibration does not have.
	CodeCalibrationData gate.Code = "calibration.data-invalid"
	// CodeCalibrationStatus: the calibration names no status, or one that
	// is not a gate.CalibrationStatus.
	CodeCalibrationStatus gate.Code = "calibration.status-invalid"
	// CodeCalibrationDueMissing: a valid calibration has no due date.
	CodeCalibrationDueMissing gate.Code = "calibration.due-missing"
	// CodeCalibrationDueNotAfter: a valid calibration is due at or before
	// the time it is recorded, so it would be overdue from the start.
	CodeCalibrationDueNotAfter gate.Code = "calibration.due-not-after"
	// CodeCalibrationMinWeight: the minimum weight is not a positive
	// quantity with a unit, or a unit is given without one.
	CodeCalibrationMinWeight gate.Code = "calibration.min-weight-invalid"
)

// calibrationStatuses are the results a calibration may record.
var calibrationStatuses = []gate.CalibrationStatus{gate.CalibrationValid, gate.CalibrationFailed,
	gate.CalibrationUnknown, gate.CalibrationNotRequired}

// CalibrationRequest asks Engine.Calibrate to record a calibration of one
// piece of equipment.
type CalibrationRequest struct {
	CommandID   string // identifies the command; a retry with the same id has one effect
	Actor       string
	Equipment   string // the equipment's id; its stream is event.EquipmentStream(Equipment)
	Calibration Calibration
}

// Calibration is what a calibration determined, the Data of CmdCalibrate
// (event.EquipmentCalibrated), which the equipment's facts read.
type Calibration struct {
	// Status is the result: gate.CalibrationValid, CalibrationFailed,
	// CalibrationUnknown or CalibrationNotRequired. Required.
	Status gate.CalibrationStatus `json:"status"`
	// Due is the instant the calibration runs out. A valid calibration
	// needs one, after the time it is recorded.
	Due time.Time `json:"due,omitzero"`
	// MinWeight and MinWeightUnit are a scale's minimum weight (USP <41>):
	// a positive quantity with its unit. Nil for equipment that determines
	// none; such equipment fails gate.MinimumWeight.
	MinWeight     *decimal.Decimal `json:"min_weight,omitempty"`
	MinWeightUnit string           `json:"min_weight_unit,omitempty"`
}

// Calibrate records calibration c of equipment id (stream
// event.EquipmentStream(id)) by actor, as command commandID of
// EquipmentModel(opts...): opts are those a site builds its equipment
// model with, such as a role gate.
//
// Beside the model's other gates, the calibration itself is checked at the
// engine's time, and a calibration that could not be one is denied and
// recorded as every failed gate is, with every reason: no status or an
// unknown one (CodeCalibrationStatus); a valid calibration without a due
// date (CodeCalibrationDueMissing) or due at or before the time it is
// recorded (CodeCalibrationDueNotAfter); a minimum weight that is not a
// positive quantity with a unit, or a unit without one
// (CodeCalibrationMinWeight). The reasons are named "calibration-data".
//
// It returns an error when the model cannot be built from opts, and
// otherwise what Engine.Execute returns.
func (e *Engine) Calibrate(ctx context.Context, req CalibrationRequest, opts ...Option) (*Outcome, error) {
	commandID, actor, id, c := req.CommandID, req.Actor, req.Equipment, req.Calibration
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("mes: Calibrate: %w", err)
	}
	m, err := EquipmentModel(opts...)
	if err != nil {
		return nil, fmt.Errorf("mes: Calibrate: %w", err)
	}
	return e.Execute(ctx, Request{ID: commandID, Model: m, Subject: event.EquipmentStream(id), Command: CmdCalibrate,
		Actor: actor, Data: data})
}

// calibrationData checks the Data of a calibrate command at the attempt's
// time.
var calibrationData = mustNamed("calibration-data", gate.Func(func(_ context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
	if a == nil {
		return gate.Verdict{}, gate.ErrNilAttempt
	}
	if a.Time.IsZero() {
		return gate.Fail(gate.Reason{Code: gate.CodeTimeMissing, Message: "the attempt has no time at which to judge the calibration's due date"}), nil
	}
	return gate.Verdict{Reasons: checkCalibration(a.Data, a.Time)}, nil
}))

// CodeRoleNotHeld: a revocation names a role the person does not hold.
const CodeRoleNotHeld gate.Code = "person.role-not-held"

// roleHeld denies revoking a role the person (the subject) does not hold,
// or a revocation that names no role.
var roleHeld = mustNamed("role-held", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	if a == nil {
		return gate.Verdict{}, gate.ErrNilAttempt
	}
	var d struct {
		Role string `json:"role"`
	}
	if len(a.Data) > 0 {
		if err := json.Unmarshal(a.Data, &d); err != nil {
			return gate.Fail(gate.Reason{Code: CodeRoleNotHeld, Message: fmt.Sprintf("the revocation's data cannot be read: %v", err)}), nil
		}
	}
	if d.Role == "" {
		return gate.Fail(gate.Reason{Code: CodeRoleNotHeld, Message: "the revocation names no role"}), nil
	}
	id, ok := strings.CutPrefix(a.Subject, event.PersonStream(""))
	if !ok {
		return gate.Fail(gate.Reason{Code: CodeRoleNotHeld, Message: fmt.Sprintf("%s is not a person's stream", a.Subject)}), nil
	}
	p, err := f.Person(ctx, id)
	if err != nil && !errors.Is(err, gate.ErrUnknown) {
		return gate.Verdict{}, err
	}
	if !slices.Contains(p.Roles, d.Role) {
		return gate.Fail(gate.Reason{Code: CodeRoleNotHeld, Message: fmt.Sprintf("%s does not hold the role %q", id, d.Role)}), nil
	}
	return gate.Pass(), nil
}))

// CodeLocationInvalid: equipment's register or status data names a
// "location" that is not a place (see event.Place: a GLN with its check
// digit and an optional extension, or a site id).
const CodeLocationInvalid gate.Code = "location.invalid"

// placeData checks the "location" of equipment's register or status data.
var placeData = mustNamed("location-data", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	if a == nil {
		return gate.Verdict{}, gate.ErrNilAttempt
	}
	var d struct {
		Location *event.Place `json:"location"`
	}
	if len(a.Data) > 0 {
		if err := json.Unmarshal(a.Data, &d); err != nil {
			return gate.Fail(gate.Reason{Code: CodeLocationInvalid, Message: fmt.Sprintf("the data's location cannot be read: %v", err)}), nil
		}
	}
	if d.Location == nil {
		return gate.Pass(), nil
	}
	if err := checkPlace("Data", "location", d.Location); err != nil {
		var re *RequestError
		errors.As(err, &re)
		return gate.Fail(gate.Reason{Code: CodeLocationInvalid, Message: re.Reason}), nil
	}
	return gate.Pass(), nil
}))

// Codes of the person model's segregation of duties.
const (
	// CodeSelfAdministration: the actor grants or revokes their own role,
	// or sets or unlocks their own credential.
	CodeSelfAdministration gate.Code = "person.self-administration"
	// CodeNotOwnSecret: the actor changes someone else's secret; only an
	// administrator's CmdSetCredential resets another person's.
	CodeNotOwnSecret gate.Code = "person.not-own-secret"
)

// personOf returns the person id of a person stream.
func personOf(subject string) (string, bool) {
	id, ok := strings.CutPrefix(subject, event.PersonStream(""))
	return id, ok && id != ""
}

// notSelf denies an actor administering their own person record.
var notSelf = mustNamed("not-self", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	if a == nil {
		return gate.Verdict{}, gate.ErrNilAttempt
	}
	if id, ok := personOf(a.Subject); !ok || id == a.Actor {
		return gate.Fail(gate.Reason{Code: CodeSelfAdministration,
			Message: fmt.Sprintf("%s may not administer their own person record (%s)", a.Actor, a.Subject)}), nil
	}
	return gate.Pass(), nil
}))

// onlySelf denies an actor changing another person's secret.
var onlySelf = mustNamed("only-self", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
	if a == nil {
		return gate.Verdict{}, gate.ErrNilAttempt
	}
	if id, ok := personOf(a.Subject); !ok || id != a.Actor {
		return gate.Fail(gate.Reason{Code: CodeNotOwnSecret,
			Message: fmt.Sprintf("%s may change only their own secret, not that of %s", a.Actor, a.Subject)}), nil
	}
	return gate.Pass(), nil
}))

// mustNamed names a gate of this package; it panics only on a name or gate
// this package got wrong, when the package is initialised.
func mustNamed(name string, g gate.Gate) gate.Gate {
	n, err := gate.Named(name, g)
	if err != nil {
		panic(fmt.Sprintf("mes: gate %q: %v", name, err))
	}
	return n
}

// checkCalibration returns every reason data cannot be the Data of a
// calibration recorded at time at.
func checkCalibration(data json.RawMessage, at time.Time) []gate.Reason {
	var rs []gate.Reason
	add := func(code gate.Code, format string, args ...any) {
		rs = append(rs, gate.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	var c Calibration
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			add(CodeCalibrationData, "the calibration's %s is a JSON %s, not a %s", te.Field, te.Value, te.Type)
		} else {
			add(CodeCalibrationData, "the calibration's data cannot be read: %v", err)
		}
		return rs
	}
	switch {
	case c.Status == "":
		add(CodeCalibrationStatus, "the calibration records no status")
	case !slices.Contains(calibrationStatuses, c.Status):
		add(CodeCalibrationStatus, "the calibration's status %q is not one of %v", c.Status, calibrationStatuses)
	}
	if c.Status == gate.CalibrationValid {
		switch {
		case c.Due.IsZero():
			add(CodeCalibrationDueMissing, "a valid calibration needs a due date")
		case !c.Due.After(at):
			add(CodeCalibrationDueNotAfter, "the calibration is due %s, not after %s when it is recorded",
				c.Due.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
	}
	switch w := c.MinWeight; {
	case w == nil && c.MinWeightUnit != "":
		add(CodeCalibrationMinWeight, "the calibration gives a minimum weight unit %q but no minimum weight", c.MinWeightUnit)
	case w == nil:
	case !quantity.InBounds(*w):
		add(CodeCalibrationMinWeight, "the minimum weight has %d as its exponent, beyond what a quantity may have", w.Exponent())
	case !w.IsPositive():
		add(CodeCalibrationMinWeight, "the minimum weight %s is not positive", w)
	case c.MinWeightUnit == "":
		add(CodeCalibrationMinWeight, "the minimum weight %s has no unit", w)
	}
	return rs
}
