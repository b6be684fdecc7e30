// Package release decides whether a batch may leave: release by exception.
// Because routine steps are enforced by the engine's gates, QA reviews
// only what did not go to plan, and this package says what still blocks
// a batch: a state that is not complete, a hold, a step not done or not
// verified by a second person, a signature that no longer verifies, an
// open exception, an unreviewed correction, a lot on hold or rejected.
//
// # Readiness and release
//
// Readiness returns that verdict for a batch, each Blocker with a stable
// code; Ready is the same check as a gate, which Model (the batch release
// model, run beside the batch's lifecycle) puts on release, together with
// a QA signature from someone who took no part in the batch.
//
// # Reconciliation
//
// Reconcile checks a batch's material balance (issued against consumed,
// scrapped and returned, per material, exactly as decimals) and its
// yield against the route's range; ReconcileBatch does it at completion
// and opens a deviation when a check fails. FlowOf reads what a batch
// consumed and made from its records.
package release
