// Package lifecycle holds the standard lifecycles of orders, batches and
// steps, after ISA-88, built with the engine's model API: a batch is
// planned, released to the floor, runs, may be blocked by an exception or
// held by a person, completes, is verified by a second person and closed;
// an order is created, released, run, completed and closed; a step is
// pending, runs, may be blocked, completes and is verified or skipped.
//
// # Gates
//
// Batch guards completion with gate.NoBlockingException and verification
// and closing with gate.NoOpenException; every lifecycle's verification
// needs a signature meaning "verified" by someone who took no part. The
// commands (mes.CmdStart, mes.CmdHold …) are the engine's, shared with the
// fact models.
//
// # Roles, on by default
//
// Every command of every lifecycle is guarded by a role gate
// (gate.RequireRole): operators start and complete; anyone with a plant
// role may block, unblock and hold; supervisors or QA restart from a hold;
// supervisors release to the floor, cancel, abort and skip; QA verifies
// and closes (DefaultRoles). WithRoles changes who may do what;
// WithoutRoles drops the role gates, and is the only way to: a lifecycle
// built without options is never open to anyone. Every adds options
// (mes.Option) to every transition, such as route.BindOnStart.
package lifecycle
