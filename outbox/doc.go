// Package outbox carries every committed record out of the store to a
// message broker, in global order, at least once: the relay that other
// systems (an ERP, a data lake, a dashboard) read from instead of the
// database.
//
// A Relay pages through the record with storage.Reader.ReadAll from a
// cursor, the position of the last record the broker acknowledged, and
// hands the records to a Sink in position order. The cursor moves only
// after the broker's acknowledgement, and the Sink, not the relay's
// memory, is where it is kept: on start, and after every broker error, the
// relay asks the Sink for it again. Package outbox/natsjs is the Sink for
// NATS JetStream; it keeps the cursor in the JetStream stream itself (the
// position in its last message).
//
// # What is promised, and against what
//
// Every record that the store returns from ReadAll reaches the broker at
// least once, and the records of one stream reach it in version order.
// This holds when the relay's process is killed at any instant (kill -9:
// nothing is flushed, the next relay reads the cursor from the broker),
// when the broker restarts or a node of a JetStream cluster fails (the
// publish fails or times out, the relay backs off, reads the cursor again
// and publishes from there), and when two relays run on one store and one
// broker stream by mistake (they publish the same messages with the same
// ids). A record is published again only when the broker may hold it
// already; the Sink gives each message a stable id (ID) so that the
// broker drops the copy (JetStream's duplicate window), and a consumer
// that sees one anyway can drop it by its stream and version.
//
// The relay reads and never writes: it takes a storage.Reader. It does not
// make a record more trustworthy than the store: a consumer that must know
// a message is a true copy of the record recomputes its hash from the
// Envelope (Envelope.Record, audit.ComputeHash) and checks the chain, or
// asks the store.
//
// What is not promised: delivery to a consumer (that is the broker's
// part), and survival of what the broker has lost after acknowledging it
// (a broker that acknowledges before its disk has the message and then
// loses power). When the broker comes back with fewer messages, the relay
// publishes the lost tail again, because it reads its cursor from the
// broker; when it comes back with none, the Sink reports the cursor lost
// (an error matching ErrPermanent) rather than publish the whole record a
// second time on its own.
//
// # The envelope
//
// Each record travels as the JSON of an Envelope: its stream, version,
// global position, type, actor, time, payload, evidence, links and both
// hashes, so that a consumer can check the hash chain without the store.
//
// # Why not Scan
//
// The relay pages with ReadAll rather than storage.Scanner: Scan holds the
// memory store's read lock while its callback runs, and a callback that
// waits for a broker would hold every writer off for as long.
package outbox
