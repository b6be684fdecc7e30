package interlock

import "time"

// Clock returns the current time. Every package that stamps or judges
// time takes one in its configuration (stores stamp records, the engine
// judges attempts, signers stamp signatures, adapters stamp readings), so
// that tests can fix time and nobody can backdate anything. storage.Clock,
// signature.Clock and device.Clock are this type.
type Clock func() time.Time

// Source says where a piece of evidence came from: an instrument read over
// its protocol, a scan, a person's typing, or Interlock itself. Review by
// exception treats anything but a device or a scanner with suspicion.
// gate.Source and device.Source are this type.
type Source string

// The sources of evidence.
const (
	SourceDevice  Source = "device"  // read from an instrument over its protocol
	SourceScanner Source = "scanner" // scanned from a barcode or tag
	SourceManual  Source = "manual"  // typed by a person
	SourceSystem  Source = "system"  // derived by Interlock itself
)
