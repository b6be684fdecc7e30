// Package gs1 reads and writes GS1 identification: element strings
// (application identifiers such as (01) GTIN, (10) batch, (17) expiry,
// joined by the group separator GS, as a scanner transmits a GS1-128,
// DataMatrix, QR, DataBar or DotCode symbol, with its symbology identifier
// such as "]C1"), their human-readable form "(01)…(10)…", and GS1 Digital
// Link URIs that carry the same keys in a web address. Parser.ParseScan
// takes a scan as a scanner sends it and picks the parser by its symbology
// identifier.
//
// # The table
//
// Every AI comes from the GS1 Barcode Syntax Dictionary, vendored as
// gs1-syntax-dictionary.txt and turned into ai_table.go by go generate.
// Parsing checks each value component by component: length, character set
// and the dictionary's checks for check digits and check character pairs,
// dates and times, and simple value rules (piece of total, yes/no flags,
// coordinates, percent-encoding, IBAN, …). Checks that need code lists or a
// GS1 Company Prefix lookup (country, currency, package and media type
// codes, company prefix position, coupon codes) are not run. The
// dictionary's pairing rules are applied to the whole: AIs that may not
// appear together, and AIs that need a key (a batch needs a GTIN, …).
//
// Every problem is an *Error naming the AI and matching a sentinel
// (ErrCheckDigit, ErrUnknownAI, ErrPairing …) and interlock.ErrInvalid.
//
// # Scanners
//
// A Scanner reads the lines a barcode scanner sends (over a serial line or
// any io.Reader), bounded in length, and, given a Parser, parses each into
// Data with the time and instrument, ready to be evidence.
package gs1
