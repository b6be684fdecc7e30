// Package review presents the record for people who must judge it: the
// batch record reviewed by exception, and the audit trail reviewed and
// signed off.
//
// # Review by exception
//
// Because the engine enforces routine steps, quality assurance reviews
// only what departed from them. Build reads a batch's stream and the
// exception streams it names, and returns a Report: routine steps in
// summary, one line per step; every exception in full — denied attempts
// with their reasons, overrides with the failures they let pass and the
// approver's signature, out-of-limit values, manual entries, corrections
// with the original, old and new value and their review, and deviations
// with their dispositions (substitutions and rework among them); every
// signature's manifestation (signer id, printed name, time, meaning,
// reason); and the verification of every hash chain read. Each exception
// appears once, linked to the records that prove it (stream, version,
// hash), and a clean batch has an empty exceptions list.
//
// WriteJSON writes the report as JSON, and WriteHTML as one
// self-contained page — inline CSS, no scripts, nothing loaded from
// elsewhere — that reads on screen and prints.
//
// # Audit review
//
// Find selects records of the audit trail by actor, stream, type and time
// range; WriteCSV exports them (RFC 4180, a fixed column order, times that
// sort as text). SignAuditReview records the review itself through the
// engine: the AuditModel's "review" transition, signed "reviewed", whose
// data holds the query and the SHA-256 of the exported CSV, so that
// CheckAuditReview can later prove the trail still reads as it was
// reviewed.
package review
