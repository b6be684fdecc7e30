// Package gs1 reads and writes GS1 identification: element strings
// (application identifiers such as (01) GTIN, (10) batch, (17) expiry,
// joined by the group separator GS, as a scanner transmits a GS1-128,
// DataMatrix, QR or DataBar symbol, with its symbology identifier such as
// "]C1"), and GS1 Digital Link URIs that carry the same keys in a web
// address. Parsing checks each AI's length, character set, check digit
// and date, and every problem is an *Error naming the AI and matching a
// sentinel (ErrCheckDigit, ErrUnknownAI …) and interlock.ErrInvalid.
//
// # Scanners
//
// A Scanner reads the lines a barcode scanner sends (over a serial line or
// any io.Reader), bounded in length, and parses each into Data with the
// time and instrument, ready to be evidence.
package gs1
