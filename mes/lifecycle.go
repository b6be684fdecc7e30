package mes

import (
	"fmt"

	"github.com/interlock-mes/interlock/gate"
)

// The states and commands of the standard lifecycles. They are plain values
// of State and Command: a user's model may reuse them or define its own.
const (
	// Batch states, after ISA-88: a batch is planned, released to the floor
	// (ready), runs, may be blocked by an exception or held by a person,
	// completes, is verified and closed; it may be cancelled before it
	// starts or aborted once it has.
	BatchPlanned    State = "planned"
	BatchReady      State = "ready"
	BatchInProgress State = "in-progress"
	BatchBlocked    State = "blocked"
	BatchHeld       State = "held"
	BatchComplete   State = "complete"
	BatchVerified   State = "verified"
	BatchClosed     State = "closed"
	BatchCancelled  State = "cancelled"
	BatchAborted    State = "aborted"

	// Order states.
	OrderCreated    State = "created"
	OrderReleased   State = "released"
	OrderInProgress State = "in-progress"
	OrderCompleted  State = "completed"
	OrderClosed     State = "closed"
	OrderCancelled  State = "cancelled"

	// Step states.
	StepPending    State = "pending"
	StepInProgress State = "in-progress"
	StepBlocked    State = "blocked"
	StepComplete   State = "complete"
	StepVerified   State = "verified"
	StepSkipped    State = "skipped"
)

// Commands of the standard lifecycles.
const (
	CmdRelease  Command = "release"
	CmdStart    Command = "start"
	CmdBlock    Command = "block"
	CmdUnblock  Command = "unblock"
	CmdHold     Command = "hold"
	CmdRestart  Command = "restart"
	CmdComplete Command = "complete"
	CmdVerify   Command = "verify"
	CmdClose    Command = "close"
	CmdCancel   Command = "cancel"
	CmdAbort    Command = "abort"
	CmdSkip     Command = "skip"
)

// BatchLifecycle returns the standard batch model. Verification needs a
// signature meaning "verified" by someone other than the performer; opts
// add gates to every transition (for example a site-wide role gate).
//
// Verify and close are guarded by gate.NoOpenException: while an
// exception (a deviation, a hold) is open on the batch, its release path
// is blocked, and each attempt is denied and recorded with one
// gate.CodeExceptionOpen reason per open exception. Complete is guarded by
// gate.NoBlockingException: an open exception whose consequence is to
// block or hold the batch stops its completion from the moment it is
// opened, also before the block or hold itself is recorded (Exceptions.Open
// records them in two appends). The rest stays usable: a batch with a
// deviation that has no consequence may still complete, and hold, restart,
// block, unblock and abort do not read open exceptions, so a held batch can
// restart and any batch can be aborted while its exceptions are
// investigated.
func BatchLifecycle(opts ...Option) (*Model, error) {
	noOpen, err := gate.NoOpenException()
	if err != nil {
		return nil, fmt.Errorf("mes: BatchLifecycle: %w", err)
	}
	noBlocking, err := gate.NoBlockingException()
	if err != nil {
		return nil, fmt.Errorf("mes: BatchLifecycle: %w", err)
	}
	with := Prepend(opts)
	return NewModel("batch", 1).
		States(BatchPlanned, BatchReady, BatchInProgress, BatchBlocked, BatchHeld,
			BatchComplete, BatchVerified, BatchClosed, BatchCancelled, BatchAborted).
		Initial(BatchPlanned).
		Final(BatchClosed, BatchCancelled, BatchAborted).
		Permit(BatchPlanned, CmdRelease, BatchReady, with(Recording("batch.released"))...).
		Permit(BatchPlanned, CmdCancel, BatchCancelled, with(Recording("batch.cancelled"))...).
		Permit(BatchReady, CmdStart, BatchInProgress, with(Recording("batch.started"))...).
		Permit(BatchReady, CmdCancel, BatchCancelled, with(Recording("batch.cancelled"))...).
		Permit(BatchInProgress, CmdBlock, BatchBlocked, with(Recording("batch.blocked"))...).
		Permit(BatchBlocked, CmdUnblock, BatchInProgress, with(Recording("batch.unblocked"))...).
		Permit(BatchInProgress, CmdHold, BatchHeld, with(Recording("batch.held"))...).
		Permit(BatchHeld, CmdRestart, BatchInProgress, with(Recording("batch.restarted"))...).
		Permit(BatchInProgress, CmdAbort, BatchAborted, with(Recording("batch.aborted"))...).
		Permit(BatchBlocked, CmdAbort, BatchAborted, with(Recording("batch.aborted"))...).
		Permit(BatchHeld, CmdAbort, BatchAborted, with(Recording("batch.aborted"))...).
		Permit(BatchInProgress, CmdComplete, BatchComplete, with(Recording("batch.completed"), WithGates(noBlocking))...).
		Permit(BatchComplete, CmdVerify, BatchVerified, with(Recording("batch.verified"), WithGates(noOpen),
			WithSignatures(SignatureRequirement{Meaning: "verified", Count: 1, NotPerformer: true}))...).
		Permit(BatchVerified, CmdClose, BatchClosed, with(Recording("batch.closed"), WithGates(noOpen))...).
		Build()
}

// OrderLifecycle returns the standard production order model.
func OrderLifecycle(opts ...Option) (*Model, error) {
	with := Prepend(opts)
	return NewModel("order", 1).
		States(OrderCreated, OrderReleased, OrderInProgress, OrderCompleted, OrderClosed, OrderCancelled).
		Initial(OrderCreated).
		Final(OrderClosed, OrderCancelled).
		Permit(OrderCreated, CmdRelease, OrderReleased, with(Recording("order.released"))...).
		Permit(OrderCreated, CmdCancel, OrderCancelled, with(Recording("order.cancelled"))...).
		Permit(OrderReleased, CmdStart, OrderInProgress, with(Recording("order.started"))...).
		Permit(OrderReleased, CmdCancel, OrderCancelled, with(Recording("order.cancelled"))...).
		Permit(OrderInProgress, CmdComplete, OrderCompleted, with(Recording("order.completed"))...).
		Permit(OrderCompleted, CmdClose, OrderClosed, with(Recording("order.closed"))...).
		Build()
}

// StepLifecycle returns the standard step model. A step's own evidence,
// gates and signatures come from the route; opts add to every transition.
func StepLifecycle(opts ...Option) (*Model, error) {
	with := Prepend(opts)
	return NewModel("step", 1).
		States(StepPending, StepInProgress, StepBlocked, StepComplete, StepVerified, StepSkipped).
		Initial(StepPending).
		Final(StepVerified, StepSkipped).
		Permit(StepPending, CmdStart, StepInProgress, with(Recording("step.started"))...).
		Permit(StepPending, CmdSkip, StepSkipped, with(Recording("step.skipped"),
			WithSignatures(SignatureRequirement{Meaning: "approved", Count: 1, NotPerformer: true}))...).
		Permit(StepInProgress, CmdBlock, StepBlocked, with(Recording("step.blocked"))...).
		Permit(StepBlocked, CmdUnblock, StepInProgress, with(Recording("step.unblocked"))...).
		Permit(StepInProgress, CmdComplete, StepComplete, with(Recording("step.completed"))...).
		Permit(StepComplete, CmdVerify, StepVerified, with(Recording("step.verified"),
			WithSignatures(SignatureRequirement{Meaning: "verified", Count: 1, NotPerformer: true}))...).
		Build()
}

// Prepend returns a function that prepends opts, the options a caller gave
// for every transition of a model, to the options of one transition: the
// standard models are built with it.
func Prepend(opts []Option) func(extra ...Option) []Option {
	return func(extra ...Option) []Option { return append(append([]Option{}, opts...), extra...) }
}
