package gate

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// ErrUnknown is what Facts return, wrapped or as is, when they do not know
// the thing asked for (no such lot, person, equipment or subject). Gates turn
// it into a failing verdict with a code such as CodeLotUnknown; any other
// error is a failure to look up and is returned by the gate as an error.
var ErrUnknown = errors.New("gate: unknown")

// Facts is what gates may look up beyond the attempt. The engine implements
// it from its streams, and should record the stream versions it read so that
// the append asserting the transition conflicts if a fact changed meanwhile.
//
// Every method returns an error for which errors.Is(err, ErrUnknown) is true
// when the thing asked for does not exist, and another error when it cannot
// be looked up. The list methods return an empty list, not ErrUnknown, for a
// known subject that has no entries.
//
// Values returned may share memory with the implementation (a Person's Roles
// and Training are the engine's cached facts): a gate reads them and must
// not modify them.
type Facts interface {
	// Lot returns the lot with that id.
	Lot(ctx context.Context, id string) (Lot, error)
	// Equipment returns the piece of equipment with that id.
	Equipment(ctx context.Context, id string) (Equipment, error)
	// Person returns the person with that id.
	Person(ctx context.Context, id string) (Person, error)
	// OpenExceptions returns the exceptions open on the subject.
	OpenExceptions(ctx context.Context, subject string) ([]Exception, error)
	// Steps returns the steps recorded on the subject, oldest first; a later
	// entry for a step id supersedes an earlier one.
	Steps(ctx context.Context, subject string) ([]Step, error)
	// History returns the events recorded on the subject, oldest first.
	History(ctx context.Context, subject string) ([]Event, error)
}

// LotStatus is the quality disposition of a lot.
type LotStatus string

// The lot statuses. Only a released lot is usable; a hold is recorded apart
// (Lot.OnHold) because it suspends a lot whatever its status.
const (
	LotQuarantine LotStatus = "quarantine" // received, not yet dispositioned
	LotReleased   LotStatus = "released"   // approved for use
	LotRejected   LotStatus = "rejected"   // not to be used
)

// Lot is what gates know of a material lot.
type Lot struct {
	ID       string
	Material string    // material (item) id, such as "MAT-100"
	Status   LotStatus // quality disposition; only LotReleased is usable
	// Expiry is the instant from which the lot may no longer be used; the
	// lot is usable strictly before it. A date-only expiry stored as
	// midnight UTC therefore ends use at the start of that day. Zero means
	// the lot does not expire.
	Expiry     time.Time
	OnHold     bool            // a hold suspends use whatever the status
	HoldReason string          // why the lot is on hold, for the message; may be ""
	Available  decimal.Decimal // quantity left; no built-in gate reads it yet
	Unit       string          // unit of Available, such as "kg"
}

// EquipmentStatus is whether a piece of equipment can take work.
type EquipmentStatus string

// The equipment statuses. Only available equipment may start work.
const (
	EquipmentAvailable    EquipmentStatus = "available"
	EquipmentInUse        EquipmentStatus = "in-use"
	EquipmentOutOfService EquipmentStatus = "out-of-service"
)

// CalibrationStatus is the state of a piece of equipment's calibration. The
// first three values match those of the device package.
type CalibrationStatus string

// The calibration states.
const (
	CalibrationValid       CalibrationStatus = "valid"
	CalibrationFailed      CalibrationStatus = "failed"
	CalibrationUnknown     CalibrationStatus = "unknown"
	CalibrationNotRequired CalibrationStatus = "not-required" // the equipment measures nothing, such as a vessel
)

// CleanStatus is the cleaning state of a piece of equipment.
type CleanStatus string

// The cleaning states.
const (
	Clean               CleanStatus = "clean"
	Dirty               CleanStatus = "dirty"
	CleaningNotRequired CleanStatus = "not-required"
)

// Equipment is what gates know of a piece of equipment or an instrument.
type Equipment struct {
	ID          string
	Status      EquipmentStatus   // only EquipmentAvailable may start work
	Calibration CalibrationStatus // CalibrationNotRequired skips the calibration check
	// CalibrationDue is the instant the calibration runs out: the equipment
	// is calibrated strictly before it. Required when Calibration is valid.
	CalibrationDue time.Time
	Clean          CleanStatus // CleaningNotRequired skips the cleaning check
	// CleanUntil is the instant a clean status runs out (the clean hold
	// time): the equipment is clean strictly before it. Zero means a clean
	// status does not run out.
	CleanUntil time.Time
	// MinWeight is a scale's minimum weight, in MinWeightUnit: the smallest
	// net weight it weighs to the required accuracy, as its calibration
	// determined it (USP <41>). Zero means none is set, and MinimumWeight
	// then fails closed.
	MinWeight     decimal.Decimal
	MinWeightUnit string // unit of MinWeight, such as "kg"; compared as written
}

// Person is what gates know of a person.
type Person struct {
	ID    string
	Name  string   // printed name, for messages
	Roles []string // roles the person holds
	// Training maps a skill to the instant the person's qualification for
	// it runs out: the person is trained strictly before it.
	Training map[string]time.Time
}

// Exception is a deviation, hold or other exception opened on a subject.
type Exception struct {
	ID      string    // such as "DEV-12"
	Kind    string    // such as "deviation"
	Summary string    // one line, for the message; may be ""
	Opened  time.Time // system time it was opened
	// Consequence is what opening it does to the subject: ConsequenceBlock
	// or ConsequenceHold stop the subject's work, "none" does not; "" when
	// its record does not say.
	Consequence string
}

// The consequences of an exception that stop its subject's work
// (Exception.Consequence).
const (
	ConsequenceBlock = "block"
	ConsequenceHold  = "hold"
)

// StepState is the state of a step of an execution.
type StepState string

// The step states gates usually require or meet; a model may use others.
const (
	StepPending    StepState = "pending"
	StepInProgress StepState = "in-progress"
	StepComplete   StepState = "complete"
	StepVerified   StepState = "verified"
	// StepBlocked: the step was blocked (by an exception) and not yet
	// unblocked.
	StepBlocked StepState = "blocked"
	// StepSkipped: the step was skipped, with the approval its model asks
	// for. A PriorSteps gate that accepts skipped steps must list it.
	StepSkipped StepState = "skipped"
)

// Step is the current state of one step on a subject.
type Step struct {
	ID        string // step id from the model, such as "S10"
	State     StepState
	Performer string // actor who performed it; "" when nobody has yet
}

// EventType is the type of an event in a subject's history, such as
// "step-completed".
type EventType string

// Event is one entry of a subject's history, as segregation of duties needs
// it.
type Event struct {
	Type  EventType
	Actor string
	Time  time.Time
}
