// Package postgres is a storage.Store kept in PostgreSQL (13 or later),
// through pgx v5 and a pgxpool.Pool that the caller owns.
//
// Call Migrate once per schema (it is idempotent and safe to run from
// several processes at once) on a pool that connects as the schema's
// owner, grant the application's role with GrantApp, then New for a Store
// on a pool that connects as the application's role:
//
//	if err := postgres.Migrate(ctx, ownerPool, "interlock"); err != nil { ... }
//	if err := postgres.GrantApp(ctx, ownerPool, "interlock", "interlock_app"); err != nil { ... }
//	store, err := postgres.New(appPool, &postgres.Config{Schema: "interlock"})
//
// # Roles
//
// Run the application with least privilege: two roles, one that owns the
// schema and runs the migrations, one the application connects as. As a
// superuser (or a role with CREATEROLE):
//
//	CREATE ROLE interlock_owner LOGIN PASSWORD '…';  -- runs Migrate, not the app
//	CREATE ROLE interlock_app LOGIN PASSWORD '…';    -- the app's pool
//	CREATE SCHEMA interlock AUTHORIZATION interlock_owner;
//
// then Migrate and GrantApp as interlock_owner. The application role holds
// SELECT on the tables and EXECUTE on the schema's functions, nothing
// else: every write goes through the append functions and save_checkpoint,
// which run with the owner's rights (SECURITY DEFINER, search_path fixed
// to pg_catalog), assign positions from the transaction id, chain the
// hashes and check versions, keys and time themselves. Not owning the
// tables, the application role cannot insert, update, delete or truncate
// them, nor disable a trigger; the tests run the conformance suite as such
// a role and try each of those writes as it. pgwalk's cache of large
// traces (genealogy_closures) is written through two such functions too;
// what a caller stores there is its own walk, which pgwalk.Walker.Verify
// checks against the edges.
//
// # What is protected, against whom
//
// Against the application role (its credentials stolen, or SQL injected
// into the service): it cannot change or remove a record, plant one at a
// position of its choosing, nor store a checkpoint under a key it does not
// hold. It can call the append functions directly, and so append records
// that did not pass the engine's gates: with the engine's attestation keys
// (mes.Config.Attestation), storage.VerifyWith names every such record, the
// engine refuses to fold it and review by exception lists it.
//
// Against the owner or a superuser (a DBA, a stolen backup restored and
// edited): they can do anything the database allows, triggers off
// included, so nothing is refused; it is found instead. storage.Verify
// recomputes every chain, reconciles what the global read returned with
// the stream heads (a row planted outside the read range is named), and,
// against a checkpoint signed by a trusted key, finds deleted, truncated,
// rewritten and back-dated streams and records. What it cannot find:
// records written after the newest checkpoint it is given, which can be cut
// off unseen, and a checkpoint deleted from the database along with
// everything after an older one. Keep each checkpoint outside the database
// as it is made (storage.Witness; storage/witness.File) and verify against
// the witness's newest. The checkpoint's signing key and the engine's
// attestation key must not be readable by either role.
//
// # How the record is kept
//
// Every Append is one round trip: a single SELECT of a PL/pgSQL function
// (append_one for one event on one stream without reads, key or links,
// append_keyed for one event on one stream without links but with a key or
// reads, as a gated transition writes, append for everything else) that checks the idempotency key, locks the
// streams, checks expected and asserted versions, chains the hashes with
// Postgres' sha256 over the canonical encoding that audit.Encode made in Go,
// and writes the events, their links and the key in one transaction. The Go
// side then recomputes every hash with audit.ComputeHash and refuses a
// result that differs (ErrHashDrift).
//
// There is no table of stream heads: a stream's head is its event with the
// highest version, found through the unique (stream, version) index, so an
// append writes its events (and links and key) and nothing else. Writers of
// a stream are serialised by a transaction-scoped advisory lock keyed by
// the stream (held in memory, it writes nothing); a stream that is only
// read is locked shared, so a writer of it waits for the append that
// asserts it, and the other way round. Locks are taken in key order, so
// appends never deadlock each other, and before the transaction has an id,
// so positions (below) follow the order in which appends held their
// streams: a stream's versions ascend with their positions, and an
// asserted read lies between the version it saw and the next one. Should
// two writers of one version ever get past the lock, the unique index
// refuses the second, which is a conflict. Each lock takes a slot in
// Postgres' shared lock table, so an append of more than 64 streams
// (written and read) locks the whole store instead: it waits for the
// appends under way and holds the others off until it commits.
//
// Appends need READ COMMITTED, Postgres' default isolation, so that the
// heads they check are read after the locks. Under another
// default_transaction_isolation, one event on one stream without reads, key
// or links reports a stale snapshot as a conflict, and any other append
// fails with an *Error (SQLSTATE IL006).
//
// Payload and evidence are stored as text holding the exact canonical JSON
// that was hashed; times as timestamptz (microseconds, audit.TimePrecision);
// hashes as bytea. The events, links, idempotency keys and checkpoints
// tables, and genealogy's index tables, are append-only: a trigger rejects
// UPDATE, DELETE and TRUNCATE. Positions must be positive. An append whose
// clock reads earlier than a written stream's head is refused
// (storage.ErrClockBehind).
//
// # Global positions
//
// A record's position is its transaction id (xid8) times 16384 plus its
// index in the append. Positions therefore increase strictly but with large
// gaps, and follow the order in which transactions took their ids, not the
// order in which they committed; an append that rolls back leaves a gap.
// Every append takes the store's advisory lock before its transaction has
// an id and holds it until the transaction ends, so the appends in flight
// are known (pg_locks). ReadAll returns only events below the lowest id of
// those appends (or, with none in flight, below its snapshot's xmax), so a
// reader that pages by the last position it saw never skips an event that
// commits later with a lower position. Transactions that do not append to
// this store, open anywhere in the cluster, hold no reader back (migration
// 0006; before it, any open transaction did). Positions drawn from a
// sequence would not give that guarantee: a transaction can draw its value
// after a transaction with a higher one drew it and committed.
//
// An append in a transaction that already had its id (the caller's own
// transaction, after its own writes; see Store.Tx) may therefore find that
// readers have passed its id: it is refused as a conflict (IL008,
// storage.ErrConflict) whenever any record sits past its first position,
// and the whole transaction is retried with a new id. Run the engine's
// command first in such a transaction to avoid the retry under load.
//
// A record restored into another cluster (pg_dump, then a restore
// elsewhere) keeps its order: each cluster is registered with an offset
// added to its positions (migration 0007), and Migrate registers the
// cluster it runs on with one that puts its positions past every restored
// one. Until Migrate has run on the new cluster, appends are refused
// (ErrNotMigrated) and reads see every restored record.
//
// So that a reader still sees what was appended before it called, ReadAll
// (and Scan, the storage.Scanner ability that Verify uses) waits up to
// Config.ReadAllWait for the appends in flight that hold committed records
// back, then returns what is safe.
//
// # Group commit
//
// Appends that arrive while others are being written share one
// transaction, and so one WAL flush (Config.GroupCommit, on by default):
// a group is written in one statement of append_group (migration 0008),
// each append in a subtransaction of its own with every check it has
// alone, so that one append's conflict, refused key or stale read is its
// own and the others are written. A group takes the store's lock before
// its transaction has an id, so readers wait for the whole group. Its
// first append takes its streams' locks, waiting if it must, and only then
// the transaction's id, as a lone append does. Later appends only try
// their locks, and one that finds a stream held by another transaction,
// or any record of a transaction that took its id later (which may have
// read or written its streams), goes into the next group: a group never
// waits while it holds a lock, and global order stays the order in which
// appends saw each other. An append that finds no queue and a free writer
// is written at once by its caller, alone, by the functions above, so a
// lone append pays nothing for group commit. Appends on a store made by
// Store.Tx are never grouped. A group that fails as a whole (its session
// ended, its commit failed) fails each of its appends, with
// storage.ErrOutcomeUnknown when the commit may have happened.
//
// # Errors
//
// Methods return the storage errors of the Store contract:
// storage.ErrConflict (a *storage.ConflictError) for a stale expected or
// asserted version, and also for a deadlock or serialization failure, which
// Postgres resolves by aborting the append; storage.ErrInvalid for bad
// input; storage.ErrNotFound; storage.ErrIdempotencyKeyReused. A schema
// that was not migrated gives ErrNotMigrated. A context that ends gives its
// error (errors.Is with context.Canceled or DeadlineExceeded). Any other
// database failure is an *Error carrying the SQLSTATE; no pgx error type
// escapes this package. An Append whose outcome is unknown (the connection
// broke during the call) may or may not have been written; retry it with the
// same IdempotencyKey to find out.
package postgres
