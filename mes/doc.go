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
// Electronic signatures (Request.Signatures) are re-authenticated through
// the engine's signature.Signer, checked against the transition's
// SignatureRequirements (roles, count, distinct signers, no signer who took
// part in the work) and recorded after the transition, bound to its exact
// payload (VerifySignatures); failed signing attempts go to the audit trail
// through AuthTrail. A model may let failed gates be overridden
// (AllowOverride): with a reason and another permitted person's signature,
// and a deviation opens. Transitions consume, produce, split and merge lots
// (Request.Consume, Request.Produce) with the links and quantities the lot
// graph of package genealogy reads. Corrections (Engine.Correct) never edit
// a record: they are gated transitions that reference the original, with a
// reason, an approval where the policy asks for one, and a review.
//
// Exceptions (ExceptionModel, Exceptions) are deviations opened by a
// person, a rule or a device, with their context; they block the step or
// batch, holds are placed on lots, batches and equipment, and dispositions
// (redo, rework, scrap, substitute, use as is, investigate with a CAPA
// reference) close them only when approved by someone else. Readiness lists
// everything that blocks a batch's release, and ReleaseModel guards release
// with it and a QA signature from someone who took no part. Reconcile checks
// issued against consumed, scrapped and returned material and the yield.
// WeighStep and WeighingEvidence turn a scale's tare and net readings into a
// gated weighing with the tare on the record and the scale's minimum weight
// enforced.
//
// Routes (Route, Routes) are versioned master data: validated, canonical
// and digested, moved through draft, approved and retired by the engine, and
// bound to a batch by version and digest so anyone can re-verify what was
// executed. PackMLModel is the ISA-TR88.00.02 equipment state machine built
// with the same model API.
package mes
