// Package gate holds the predicates that guard every transition of
// Interlock's execution engine.
//
// A Gate looks at an Attempt (who asks, with which roles, for which
// transition, on which subject, with which references and evidence, at what
// system time) and at Facts it can look up (lots, equipment, people and their
// training, open exceptions, steps, history), and returns a Verdict: pass, or
// fail with Reasons. Each Reason carries the name of the gate that failed, a
// stable Code for programs ("lot.expired") and a sentence for people ("lot
// lot-L7 expired on 2026-06-30"). A failed gate blocks; there is no warning
// level.
//
// The error a gate returns is only for a failure to evaluate (a lookup that
// failed, a cancelled context), never for a gate that fails. Facts report a
// thing they do not know with ErrUnknown, which the built-in gates turn into
// a failing verdict (CodeLotUnknown …): an unknown lot is a reason to block,
// not an outage.
//
// # Composing gates
//
// Gates compose: All evaluates every gate and returns every failure, Any
// passes when one passes, Not inverts with a reason you supply. Users write
// their own gates by implementing Gate or with Func, and name them with Named
// so their reasons say which gate failed.
//
// # Built-in gates
//
// The built-in gates cover what an MES checks before it lets work proceed:
//
//	RequireRole       the actor holds one of the roles
//	TrainingCurrent   the actor's training for a skill is valid
//	EquipmentReady    equipment available, calibrated, clean
//	LotUsable         lot released, not expired, not on hold, right material
//	EvidencePresent   a scan of a specific identity
//	WithinTolerance   a measured value within exact decimal limits
//	RequireSource     evidence from a device, not typed in
//	RequireStable     a settled instrument reading
//	MinimumWeight     a net weight at or above the scale's minimum weight
//	GrossMinusTare    one weighing's net equals gross minus tare, one instrument
//	PriorSteps        earlier steps complete or verified
//	NoOpenException   no deviation open on the subject
//	DistinctActor     segregation of duties (four eyes, no self-approval)
//
// Every constructor validates its arguments and returns an error for a bad
// definition; nothing panics. Gates that need a lot, a piece of equipment or
// an identity are told where to find it with an ID: FromRef (a reference the
// model binds, such as "lot"), FromEvidence (a scanned identity) or Literal.
// Times are compared with the attempt's system time, and every validity
// instant (expiry, calibration due, training valid-until, clean-until) is
// exclusive: at that instant the thing is no longer valid.
//
// The package knows nothing of storage or of the engine; the mes package
// builds attempts, implements Facts from its streams and records verdicts.
package gate
