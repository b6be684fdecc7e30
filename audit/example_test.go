package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/audit"
)

// A chain of three records written as a store writes them, attested as the
// engine attests them, a checkpoint signed over it, then one record edited
// with its hash recomputed: the verifier names the record.
func Example() {
	attester, _ := audit.NewAttester("engine-1", bytes.Repeat([]byte{1}, 32))
	attested, _ := audit.NewAttested(attester)
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var recs []audit.Record
	prev := audit.Genesis("batch/B1")
	for v, cmd := range []string{"release", "start", "complete"} {
		payload, _ := attester.Attest(nil, &audit.AttestedEvent{Stream: "batch/B1", Version: int64(v + 1), Type: "batch." + cmd,
			Actor: "op-7", Payload: []byte(`{"command":"` + cmd + `"}`), Evidence: []byte("null")})
		r := audit.Record{Stream: "batch/B1", Version: int64(v + 1), Position: int64(v + 1), Type: "batch." + cmd, Actor: "op-7",
			Time: at, Payload: payload, Evidence: json.RawMessage("null"), PrevHash: prev}
		r.Hash, _, _ = audit.ComputeHash(nil, &r)
		prev = r.Hash
		recs = append(recs, r)
	}

	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	cp, _ := audit.NewCheckpoint(3, at, []audit.Head{{Stream: "batch/B1", Version: 3, Hash: recs[2].Hash}})
	_ = cp.Sign(key)
	trusted, _ := audit.NewKeys(key.Public().(ed25519.PublicKey))
	fmt.Println("checkpoint verifies:", trusted.Verify(cp) == nil)

	// Someone with database access rewrites v2 and recomputes the chain.
	recs[1].Actor = "mallory"
	for i := 1; i < len(recs); i++ {
		recs[i].PrevHash = recs[i-1].Hash
		recs[i].Hash, _, _ = audit.ComputeHash(nil, &recs[i])
	}
	v := audit.NewVerifier(cp)
	v.Attestation(attested)
	for i := range recs {
		var be *audit.BreakError
		if errors.As(v.Add(&recs[i]), &be) {
			fmt.Printf("%s v%d: %s\n", be.Stream, be.Version, be.Kind)
		}
	}
	// Output:
	// checkpoint verifies: true
	// batch/B1 v2: unattested
	// batch/B1 v3: hash-mismatch
}
