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
// needs a signature meaning "verified" by someone who took no part. Each
// constructor takes options (mes.Option) that add to every transition,
// such as a site-wide role gate. The commands (mes.CmdStart, mes.CmdHold
// …) are the engine's, shared with the fact models.
package lifecycle
