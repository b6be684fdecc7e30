// Package validation is the evidence an integrator files when validating a
// system built on Interlock under 21 CFR Part 11 and EU GMP Annex 11: the
// requirements, each joined to the tests that prove its technical part, and
// the traceability matrix that joins them to one run of those tests.
//
// The requirements live in requirements.json beside this file (Embedded
// reads them). Each says which obligation it answers, the capability that
// meets it, what the integrator must still do themselves, and which
// top-level tests prove it; a requirement met by procedure alone is marked
// procedural and names no test. ReadResults reads the output of
// go test -json, Join puts the two together, and Matrix writes itself as
// HTML and CSV. A technical requirement passes only when every test it
// names ran and passed: a test that failed, was skipped, did not finish or
// does not exist proves nothing.
//
// The commands beside it use this package: validation/cmd/matrix writes
// the matrix, validation/cmd/qualify runs installation and operational
// qualification against a database, and validation/cmd/backup proves a
// backup restorable.
package validation
