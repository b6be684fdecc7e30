// Package mes is Interlock's execution engine: models of gated transitions
// (state machines for orders, batches and steps), and the engine that runs
// commands through them and records every allowed transition and every
// denied attempt.
//
// A Model is built with NewModel(...).States(...).Permit(...).Build(); Build
// validates the whole definition and reports every problem at once, never
// panicking. The standard lifecycles (BatchLifecycle, OrderLifecycle,
// StepLifecycle) are built with the same API. A model renders as Graphviz
// DOT.
//
// Engine.Execute runs one command on one subject (a stream such as
// "batch-B42", or one step of it): it folds the subject's state from its
// records, evaluates every gate of the transition against facts read from
// their own streams (lots, equipment, people: see LotModel, EquipmentModel,
// PersonModel, which change those facts through the engine too), and appends
// either the transition's events, with any lot consumption in the same
// atomic append, or one denied-attempt event that carries every failed
// gate's reason. The append asserts the versions of the streams the gates
// read, so a fact that changes in between makes the command run its gates
// again. A started step is bound to its operator, references and
// instruments.
//
// Routes (Route, Routes) are versioned master data: validated, canonical
// and digested, moved through draft, approved and retired by the engine, and
// bound to a batch by version and digest so anyone can re-verify what was
// executed. PackMLModel is the ISA-TR88.00.02 equipment state machine built
// with the same model API.
package mes
