// Package packml names the machine states of PackML (ISA-TR88.00.02), the
// packaging machine state model: 17 states such as Idle, Starting,
// Execute, Holding, Held, Suspended, Stopping, Aborting and Complete, each
// with the number a PLC reports it by (StateFromNumber), and a Change
// between two of them. The engine's PackML model (mes/packml) is built
// from these names.
//
// # Numbers
//
// A PLC reports the state as a number from 1 (Clearing) to 17
// (Complete); 0 is "undefined" and, like any other number, an
// *InvalidStateError.
package packml
