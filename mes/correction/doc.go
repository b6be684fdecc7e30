// Package correction records corrections of recorded values without ever
// editing a record. A correction is a transition of the correction model,
// run by the engine on the subject whose value it corrects: it is gated
// (who may correct, what may be corrected, the approval the Policy asks
// for) and recorded like every other write, and a denied correction is on
// the record too. Each correction runs as its own step of the subject,
// Step(command id), so that its review is bound to it and the engine's
// segregation of duties keeps the corrector from reviewing it.
//
// # Use
//
// NewModel builds the model from a Policy; Correct records a correction
// and ReviewCorrection its review. List, Unreviewed and CurrentValues read
// a subject's corrections and the values as corrected; release readiness
// blocks a batch with an unreviewed correction.
//
// # The record
//
// The correction's own record has type event.ValueCorrected. Its payload is
// the engine's transition payload (command_id, model "correction",
// model_version 1, step, command "correct", from "new", to "corrected"),
// and the correction itself is its "data" member:
//
//	{"corrects": <version of the original record>, "name": <evidence name or data member>,
//	 "source": "evidence"|"data", "old": <value before>, "new": <value after>,
//	 "reason": <why>, "supersedes": <version of the correction it replaces; absent for the first>}
//
// A measured evidence value is {"unit": "kg", "value": "12.5"} (the value a
// decimal string); a data value is the member's JSON. "corrects" always
// names the original record, even when a correction of a correction was
// asked for. An approval follows as a "signature.applied" record meaning
// "approved". A review is a record of type event.CorrectionReviewed in the
// same step whose data is {"reviews": <version of the correction>},
// followed by a signature meaning "reviewed".
package correction
