// Package weigh turns a scale's readings into a gated weighing step. A
// dispensing step weighs material into a container on a tared scale: the
// tare (the container), the net weight of the material, and the gross
// (their sum) go onto the record together, and the step completes only
// when the net weight is within tolerance, taken from a device (never
// typed), stable, on the scale the step is bound to, at or above the
// scale's minimum weight from its last calibration (USP <41>), and with
// gross equal to tare plus net.
//
// # Use
//
// Step builds the step model from a Spec (material, role, skill,
// tolerance). Evidence turns a tare and a net device.Reading into the
// step's evidence; RouteEvidence does the same for a weighing of a route
// step, naming the tare and gross after the weighing (Tare, Gross).
// Readings of two instruments, units or sources cannot be one weighing
// (ErrMixed).
package weigh
