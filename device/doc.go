// Package device holds what every instrument adapter shares: a Reading (an
// instrument's decimal value with its unit, whether it was stable, when it
// was taken and the raw frame it came from), the Source of a value
// (device, scanner, manual entry, system), an Instrument with its
// calibration, and the Clock adapters stamp readings with. It imports no
// driver: the protocols live in the packages below it, so that a service
// that only gates readings links no serial or Modbus code.
//
// # Protocols
//
//   - device/gs1: GS1 element strings, Digital Link URIs and barcode scanners
//   - device/scale: weigh scales (MT-SICS and streaming) over a serial line
//   - device/plc: PLC tags over Modbus, polled into equipment events
//   - device/packml: the PackML machine states a PLC reports
//   - device/zpl: GS1 lot labels in ZPL and the printers that print them
//
// The engine binds readings and equipment events to a batch context and
// gates them (package mes and its weigh and packml packages); nothing here
// knows of it.
package device
