// Package packml is the ISA-TR88.00.02 (PackML) equipment state machine as
// an Interlock model. PackML gives packaging and process machines 17 states
// (Idle, Starting, Execute, Holding, Held, Suspended, Aborting, …) and the
// commands that move between them (Start, Hold, Unhold, Suspend, Stop,
// Abort, Clear, Reset, and the state-complete command SC a machine issues
// itself). Model builds that machine with the engine's model API, so a
// machine's state changes go through the engine's gates and onto the
// record like any other transition. The standard's optional Hold
// transitions (Hold from Starting, Suspending, Suspended, Unsuspending
// and Unholding) are left out unless the model is built WithOptionalHold.
//
// # Equipment signals
//
// A PLC reports its state as a device/packml state change. StateOf and
// DeviceState translate between the two vocabularies (the names are the
// same), and Explain names the command that explains a change, or says
// with a ChangeError which states the machine skipped, so that a change
// the model does not permit is never recorded as if it were.
package packml
