// Package audit defines Interlock's record and proves its integrity.
//
// # The chain
//
// Every change on the shop floor is a Record appended to a stream (one stream
// per batch, lot, piece of equipment, order, person …). Records of a stream
// form a hash chain:
//
//	hash(v) = SHA-256(hash(v-1) || Encode(record v))
//
// where hash(0), the genesis value of a stream, is Genesis(streamID). Encode
// is the canonical encoding documented on that function: the same logical
// record always gives the same bytes.
//
// # Verification and checkpoints
//
// Verification is a pure function of the records: a Verifier reads records
// in global order and reports the first one that breaks its stream's chain
// as a *BreakError naming the stream, the version and the kind of break.
// A Checkpoint, signed with ed25519 by a key the database does not hold,
// commits to every stream head at a global position; verifying the records
// against a trusted checkpoint also detects deleted, truncated and rewritten
// streams, which a chain alone cannot see.
//
// The package knows nothing of storage: the storage package feeds it records.
package audit
