// Package device turns instruments into evidence: weigh scales over serial
// (Mettler-Toledo MT-SICS and streaming scales), PLC tags over Modbus, GS1
// barcodes from scanners, and label printers. A Reading says which
// instrument, what value, whether it was stable, when and from which raw
// frame; equipment signals are normalised into a small set of events.
//
// The package knows nothing of the engine: the mes package binds readings and
// equipment events to a batch context and gates them.
package device
