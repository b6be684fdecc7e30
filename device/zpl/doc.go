// Package zpl renders GS1 lot labels in ZPL, the page language of Zebra
// and compatible label printers, and sends them to a printer over TCP.
// RenderLotLabel lays out the product, GTIN, batch and expiry in human
// readable text and as a GS1-128 barcode whose data parses back to the
// same element string; data that cannot be printed correctly is refused
// with an *Error naming the field. RenderLotLabelDataMatrix renders the
// same label with a GS1 DataMatrix (ECC 200) instead, sized from the
// data's codewords and refused when that size does not fit the label at
// the configured module size.
//
// # Printing
//
// A Printer sends a rendered label to a printer's raw TCP port (9100 by
// convention) with dial and write timeouts, and reports a failure as a
// *PrinterError matching ErrPrinter.
package zpl
