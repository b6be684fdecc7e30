// Package scalesim simulates a weigh scale on a real pseudo-terminal, so that
// the serial adapters in package device can be tested, and example apps can
// run, without hardware.
//
// The simulator answers MT-SICS level 0 and 1 commands (S, SI, T, TA, TI, Z,
// ZI, @, I2, I4) or, in streaming mode, writes a weight line at a fixed
// interval as continuous-output scales do. The test controls the load,
// stability, overload and underload, busy state, serial number, reply delay
// and silence, can script exact reply lines, and can pull the cable (the pty
// is closed and the port vanishes) and plug it back (a new pty).
//
// Because the kernel numbers a new pty afresh, the simulator exposes a stable
// path: a symbolic link that points to the current /dev/pts/N and is
// re-pointed on every plug, like socat's link= option. Adapters open that
// path as their serial port name.
//
// # Platform
//
// The package is Linux only: it creates ptys with /dev/ptmx ioctls.
package scalesim
