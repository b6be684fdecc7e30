// Package backend is what a store implementer calls, apart from what a
// store's users call (package storage), in the way database/sql/driver
// stands apart from database/sql. Prepare validates an append request and
// puts its payloads and evidence in canonical form once, so that every
// store records the same bytes and hashes; Walk traverses a link index
// given a way to fetch one hop; ValidateTraverse and ValidateCheckpoint
// check requests as every store must.
//
// # Writing a store
//
// A new store calls Prepare on every append and writes the records it
// returns, asserting the expected and read versions atomically; it passes
// storage/storagetest's conformance suite. The memory and Postgres stores
// are built on this package.
package backend
