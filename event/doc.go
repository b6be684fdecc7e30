// Package event is the vocabulary of Interlock's record, declared once:
// the event types the engine writes, the kinds of link between streams,
// the payloads those events carry, and one Decode that reads any of them.
// The engine (package mes) writes through it; the readers of the record
// (genealogy, review, and any service of an integrator) read through it,
// so that a record has one meaning wherever it is read.
//
// # Payloads
//
// Every transition the engine records, allowed or denied, carries a
// Transition: the command and its id, the model and version it ran under,
// the states before and after, the references and data it was given, the
// reasons of a denial or an override, and the material that moved. The
// records written beside it carry a Signature (an electronic signature
// bound to the transition), a Consumed (the quantity taken from a lot), or
// a Marker (an exception mirrored on the subject it concerns). The Data of
// a Transition is the model's own content (a lot's receipt, a calibration,
// an exception's context); the payload types for the engine's own models
// are here too (Receipt, ExceptionContext).
//
// # Streams
//
// Facts live in streams named by kind and id: LotStream, EquipmentStream,
// PersonStream, ExceptionStream, AuthStream. Batches, orders and other
// subjects are named by the integrator.
package event
