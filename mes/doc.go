// Package mes is Interlock's execution engine: models of gated transitions
// (state machines for orders, batches, steps, lots, equipment and people),
// and the Engine that runs commands through them and records every
// allowed transition and every denied attempt, so that a wrong shop-floor
// action cannot happen and a right one leaves evidence an auditor trusts.
//
// # Models
//
// A Model is built with NewModel(...).States(...).Permit(...).Build();
// Build validates the whole definition and reports every problem at once,
// never panicking, and a built model cannot be changed (Transition and
// Transitions hand out copies). A transition is guarded by gates
// (WithGates), evidence requirements (WithEvidence) and electronic
// signatures (WithSignatures); it may allow its gates to be overridden
// with a second person's approval (AllowOverride), and mirror its record
// onto a second stream (Mirror). Models render as Graphviz DOT, and a
// Registry holds a service's models by name and version. The fact models
// (LotModel, EquipmentModel, PersonModel) keep the facts gates read, each
// in its own stream; the standard lifecycles of orders, batches and steps
// are in package mes/lifecycle.
//
// # Running a command
//
// Engine.Execute runs one Request on one subject (a stream such as
// "batch-B42", or one step of it): it folds the subject's state from its
// records (Fold), evaluates every gate of the transition against facts
// read from their own streams (NewFacts), and appends either the
// transition's records, with the lots it consumes and makes, its
// signatures and its mirror, in one atomic append, or one denied-attempt
// record that carries every failed gate's reason. The append asserts the
// versions of the streams the gates read, so a fact that changes in
// between makes the command run its gates again. A command id makes a
// retry safe: the same id has one effect and one record. No field of a
// Request writes anything that skips the model's gates.
//
// # Errors
//
// A denied command returns its Outcome and a *DeniedError (errors.Is
// ErrDenied; ErrIllegalTransition when the model does not permit it); the
// denial is on the record. Every code the engine's own checks emit is an
// exported constant (Code...).
//
// # Built on the engine
//
// Routes (mes/route), exceptions (mes/exception), corrections
// (mes/correction), release and reconciliation (mes/release), weighing
// (mes/weigh) and PackML (mes/packml) reach the engine only through this
// package's public surface; mes/mestest helps users test code that runs
// on it. The record's vocabulary (event types, payloads) is package event.
package mes
