// Package plc reads a machine's PLC over Modbus TCP, or Modbus RTU on a
// serial line (ModbusConfig.Serial), and turns its tags into
// decision-grade equipment events. Modbus addresses data as coils and
// discrete inputs (bits) and holding and input registers (16-bit words);
// a TagMap names them (an area, an address, a data type and word order, a
// scale and unit) and gives each a Role: the machine's PackML state, its
// running bit, fault code, good and reject counters, or a parameter.
//
// # Events
//
// A Poller reads the map on an interval and reports what changed as
// Events: a PackML state change, running or stopped, a fault and its
// clearing, counts, a parameter change, or a value that means nothing
// (EventInvalidValue). High-rate telemetry is not its business; events
// are what a batch record needs.
package plc
