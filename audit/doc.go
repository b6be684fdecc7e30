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
// A verifier also reconciles the records with the heads the store reports
// (Expect), so that a record the store would serve to a reader of its
// stream but not to the global read is named (BreakUnread), and names a
// record at or below a checkpoint's position that the checkpoint does not
// hold (BreakBackdated). Checkpoints name the key that signed them (KeyID);
// Keys is the set of keys a verifier trusts, so keys can rotate.
//
// # Attestation
//
// A chain proves that records were not changed after they were written,
// not that they were written by the engine after its gates passed: anyone
// who can append to the store can append a well-formed record. An
// Attester, holding a secret key the database does not, puts a MAC over
// each record's content and verdict into its payload (see Attester.Attest);
// a verifier given the keys (Verifier.Attestation) names every record
// without a valid one (BreakUnattested).
//
// # Whom this holds against
//
// Against anyone who can write the records but holds neither the
// checkpoint signing key nor the attestation key: every edit, deletion,
// reordering, rewrite with recomputed hashes, back-dated insertion or
// forged append is found and named by stream and version, provided the
// verifier has a checkpoint from outside the database that covers the
// records (records written after the newest such checkpoint can still be
// cut off unseen). Against whoever holds the attestation key: nothing
// stops them forging attested records, and a verifier, which must hold
// the key to check a MAC, is such a party; keep the key with the engine
// and the verifier only. Against whoever holds the checkpoint key: they
// can sign a checkpoint of a rewritten store.
//
// The package knows nothing of storage: the storage package feeds it records.
package audit
