//go:build race

package signature

// raceEnabled lets the one test that runs production-cost hashes skip itself
// under the race detector, which slows argon2 about tenfold.
const raceEnabled = true
