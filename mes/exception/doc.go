// Package exception runs exceptions: deviations, holds and dispositions,
// the explicit states that stop a batch when something did not go to plan.
// A deviation is opened by a person, a rule (a denied attempt or a failed
// check turned into one) or a device, with its context and evidence; it
// may block the step or batch, or hold it; holds are placed on lots,
// batches and equipment; a disposition (redo, rework, scrap, substitute,
// use as is, investigate with a CAPA reference) closes it only when
// someone other than its author approves it. Every write is a command run
// by the engine, so every one is gated and recorded, and every denied one
// is on the record.
//
// # Records
//
// An exception lives in its own stream (event.ExceptionStream), run by the
// exception Model, and is mirrored on its subject by markers
// (event.ExceptionOpened and event.ExceptionClosed), which
// gate.NoOpenException, gate.NoBlockingException and release readiness
// read. A consequence (block, hold) is a command of its own on the
// subject, gated by the subject's model, run right after the opening.
//
// # Use
//
// New returns a Service over an engine; Open, Disposition, Reject,
// AttachCAPA, Approve and Resume move an exception; PlaceHold and
// ReleaseHold hold and release lots, batches and equipment; Apply turns a
// denied attempt into a deviation by a Rule such as OutOfTolerance; Read
// folds an exception's records.
package exception
