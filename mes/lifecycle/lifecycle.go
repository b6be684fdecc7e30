package lifecycle

import (
	"fmt"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/gate"
)

// The states and commands of the standard lifecycles. They are plain values
// of State and Command: a user's model may reuse them or define its own.
const (
	// Batch states, after ISA-88: a batch is planned, released to the floor
	// (ready), runs, may be blocked by an exception or held by a person,
	// completes, is verified and closed; it may be cancelled before it
	// starts or aborted once it has.
	BatchPlanned    mes.State = "planned"
	BatchReady      mes.State = "ready"
	BatchInProgress mes.State = "in-progress"
	BatchBlocked    mes.State = "blocked"
	BatchHeld       mes.State = "held"
	BatchComplete   mes.State = "complete"
	BatchVerified   mes.State = "verified"
	BatchClosed     mes.State = "closed"
	BatchCancelled  mes.State = "cancelled"
	BatchAborted    mes.State = "aborted"

	// Order states.
	OrderCreated    mes.State = "created"
	OrderReleased   mes.State = "released"
	OrderInProgress mes.State = "in-progress"
	OrderCompleted  mes.State = "completed"
	OrderClosed     mes.State = "closed"
	OrderCancelled  mes.State = "cancelled"

	// Step states.
	StepPending    mes.State = "pending"
	StepInProgress mes.State = "in-progress"
	StepBlocked    mes.State = "blocked"
	StepComplete   mes.State = "complete"
	StepVerified   mes.State = "verified"
	StepSkipped    mes.State = "skipped"
)

// Batch returns the standard batch model. Verification needs a
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
func Batch(opts ...Option) (*mes.Model, error) {
	noOpen, err := gate.NoOpenException()
	if err != nil {
		return nil, fmt.Errorf("mes: Batch: %w", err)
	}
	noBlocking, err := gate.NoBlockingException()
	if err != nil {
		return nil, fmt.Errorf("mes: Batch: %w", err)
	}
	with, err := build("batch", []mes.Command{mes.CmdRelease, mes.CmdCancel, mes.CmdStart, mes.CmdBlock, mes.CmdUnblock,
		mes.CmdHold, mes.CmdRestart, mes.CmdAbort, mes.CmdComplete, mes.CmdVerify, mes.CmdClose}, opts)
	if err != nil {
		return nil, err
	}
	return mes.NewModel("batch", 1).Of("batch").
		States(BatchPlanned, BatchReady, BatchInProgress, BatchBlocked, BatchHeld,
			BatchComplete, BatchVerified, BatchClosed, BatchCancelled, BatchAborted).
		Initial(BatchPlanned).
		Final(BatchClosed, BatchCancelled, BatchAborted).
		Permit(BatchPlanned, mes.CmdRelease, BatchReady, with(mes.CmdRelease, mes.Recording("batch.released"))...).
		Permit(BatchPlanned, mes.CmdCancel, BatchCancelled, with(mes.CmdCancel, mes.Recording("batch.cancelled"))...).
		Permit(BatchReady, mes.CmdStart, BatchInProgress, with(mes.CmdStart, mes.Recording("batch.started"))...).
		Permit(BatchReady, mes.CmdCancel, BatchCancelled, with(mes.CmdCancel, mes.Recording("batch.cancelled"))...).
		Permit(BatchInProgress, mes.CmdBlock, BatchBlocked, with(mes.CmdBlock, mes.Recording("batch.blocked"))...).
		Permit(BatchBlocked, mes.CmdUnblock, BatchInProgress, with(mes.CmdUnblock, mes.Recording("batch.unblocked"))...).
		Permit(BatchInProgress, mes.CmdHold, BatchHeld, with(mes.CmdHold, mes.Recording("batch.held"))...).
		Permit(BatchHeld, mes.CmdRestart, BatchInProgress, with(mes.CmdRestart, mes.Recording("batch.restarted"))...).
		Permit(BatchInProgress, mes.CmdAbort, BatchAborted, with(mes.CmdAbort, mes.Recording("batch.aborted"))...).
		Permit(BatchBlocked, mes.CmdAbort, BatchAborted, with(mes.CmdAbort, mes.Recording("batch.aborted"))...).
		Permit(BatchHeld, mes.CmdAbort, BatchAborted, with(mes.CmdAbort, mes.Recording("batch.aborted"))...).
		Permit(BatchInProgress, mes.CmdComplete, BatchComplete, with(mes.CmdComplete, mes.Recording("batch.completed"), mes.WithGates(noBlocking))...).
		Permit(BatchComplete, mes.CmdVerify, BatchVerified, with(mes.CmdVerify, mes.Recording("batch.verified"), mes.WithGates(noOpen),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, NotPerformer: true}))...).
		Permit(BatchVerified, mes.CmdClose, BatchClosed, with(mes.CmdClose, mes.Recording("batch.closed"), mes.WithGates(noOpen))...).
		Build()
}

// Order returns the standard production order model.
func Order(opts ...Option) (*mes.Model, error) {
	with, err := build("order", []mes.Command{mes.CmdRelease, mes.CmdCancel, mes.CmdStart, mes.CmdComplete, mes.CmdClose}, opts)
	if err != nil {
		return nil, err
	}
	return mes.NewModel("order", 1).
		States(OrderCreated, OrderReleased, OrderInProgress, OrderCompleted, OrderClosed, OrderCancelled).
		Initial(OrderCreated).
		Final(OrderClosed, OrderCancelled).
		Permit(OrderCreated, mes.CmdRelease, OrderReleased, with(mes.CmdRelease, mes.Recording("order.released"))...).
		Permit(OrderCreated, mes.CmdCancel, OrderCancelled, with(mes.CmdCancel, mes.Recording("order.cancelled"))...).
		Permit(OrderReleased, mes.CmdStart, OrderInProgress, with(mes.CmdStart, mes.Recording("order.started"))...).
		Permit(OrderReleased, mes.CmdCancel, OrderCancelled, with(mes.CmdCancel, mes.Recording("order.cancelled"))...).
		Permit(OrderInProgress, mes.CmdComplete, OrderCompleted, with(mes.CmdComplete, mes.Recording("order.completed"))...).
		Permit(OrderCompleted, mes.CmdClose, OrderClosed, with(mes.CmdClose, mes.Recording("order.closed"))...).
		Build()
}

// Step returns the standard step model. A step's own evidence,
// gates and signatures come from the route; opts add to every transition.
func Step(opts ...Option) (*mes.Model, error) {
	with, err := build("step", []mes.Command{mes.CmdStart, mes.CmdSkip, mes.CmdBlock, mes.CmdUnblock, mes.CmdComplete, mes.CmdVerify}, opts)
	if err != nil {
		return nil, err
	}
	return mes.NewModel("step", 1).
		States(StepPending, StepInProgress, StepBlocked, StepComplete, StepVerified, StepSkipped).
		Initial(StepPending).
		Final(StepVerified, StepSkipped).
		Permit(StepPending, mes.CmdStart, StepInProgress, with(mes.CmdStart, mes.Recording("step.started"))...).
		Permit(StepPending, mes.CmdSkip, StepSkipped, with(mes.CmdSkip, mes.Recording("step.skipped"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "approved", Count: 1, NotPerformer: true}))...).
		Permit(StepInProgress, mes.CmdBlock, StepBlocked, with(mes.CmdBlock, mes.Recording("step.blocked"))...).
		Permit(StepBlocked, mes.CmdUnblock, StepInProgress, with(mes.CmdUnblock, mes.Recording("step.unblocked"))...).
		Permit(StepInProgress, mes.CmdComplete, StepComplete, with(mes.CmdComplete, mes.Recording("step.completed"))...).
		Permit(StepComplete, mes.CmdVerify, StepVerified, with(mes.CmdVerify, mes.Recording("step.verified"),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "verified", Count: 1, NotPerformer: true}))...).
		Build()
}
