// Package natsjs is the outbox.Sink for NATS JetStream: it publishes each
// record to a JetStream stream that belongs to the relay, and keeps the
// relay's cursor in that stream.
//
// # Subjects
//
// A record of stream S is published on Prefix + "." + Subject(S). Each
// "/"-separated part of S becomes one subject token, so that a consumer
// can filter by kind: the records of "lot/L-1" go to "<prefix>.lot.L-1",
// and "<prefix>.lot.>" gives every lot. Within a token, ASCII letters,
// digits, "-" and "_" stand for themselves and every other byte (".", "*",
// ">", "%", space, any byte of a non-ASCII letter) is written as "%" and
// two upper-case hex digits; an empty part is written "%". The mapping is
// one to one, so a subject names exactly one stream; the envelope carries
// the stream's name as it is in any case.
//
// # Messages
//
// The body is the outbox.Envelope's JSON. The header Nats-Msg-Id holds
// outbox.ID, the record's hash, so that the stream's duplicate window
// drops a record published twice. Publishes are sequential: the next
// record leaves only when the one before is acknowledged, so the stream
// holds a prefix of the record in global order and never a record whose
// predecessor it lacks.
//
// # The cursor
//
// The cursor is the position in the envelope of the stream's last message,
// read on every Last: nothing but the broker's own acknowledged state
// decides where the relay resumes, so a killed relay loses nothing and a
// broker that comes back short gets its lost tail again. The stream must
// therefore keep its last message: it must be the relay's alone (its only
// subject Prefix + ".>"), with limits retention (work-queue and interest
// retention delete what consumers acknowledge). When the stream once held
// messages and holds none now (purged, or every message older than its
// MaxAge), Last returns ErrCursorLost rather than start again from the
// beginning of the record; StreamConfig gives a configuration that
// satisfies these rules.
//
// The cursor is read when the relay starts, after every failed publish,
// and before the first publish after the connection reconnected, since a
// broker that restarted may have come back without its newest messages.
// A broker that loses acknowledged messages while the relay is publishing
// on an unbroken connection would leave a gap that nothing here sees; a
// JetStream cluster with three replicas does not.
//
// # The duplicate window
//
// One relay publishes a record the stream may already hold only when a
// publish was under way as it was killed or failed: that copy arrives
// within the acknowledgement timeout, so a window of a minute is plenty.
// Two relays on one stream by mistake publish everything twice, and the
// window must cover how far the slower one lags; past it, a consumer sees
// the copy, which carries the same stream, version and hash.
package natsjs
