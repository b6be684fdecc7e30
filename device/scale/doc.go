// Package scale talks to weigh scales. MT-SICS, Mettler-Toledo's standard
// interface command set, is a request-reply protocol over a serial line:
// the host sends a command such as "S" (send a stable weight), "SI"
// (send the weight now), "T" (tare) or "Z" (zero), and the scale answers
// with a line such as "S S     100.00 g", whose status says stable,
// dynamic, over- or underload. Streaming scales instead send a line per
// reading unasked, such as "ST,GS,+00012.34kg".
//
// # Use
//
// New opens a Scale on a SerialLine and turns its replies into
// device.Readings, with the scale's identity and a timeout per command;
// NewStream reads a streaming scale. ParseMTSICS and StreamParser parse
// single lines. Package scalesim simulates an MT-SICS scale on a
// pseudo-terminal, for tests through a real serial stack.
package scale
