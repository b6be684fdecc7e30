package audit

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
)

// verifyBenchRecords are BenchmarkVerify's records, and with attested,
// BenchmarkVerifyAttested's: 10,000 records of about 356 bytes (about
// 390 attested) over four streams.
func verifyBenchRecords(tb testing.TB, attest bool) ([]Record, *Attested) {
	tb.Helper()
	recs := buildChain(tb, 10_000, "batch-2026-0001", "batch-2026-0002", "lot-2026-0042", "eq-SC-01")
	for i := range recs {
		recs[i].Payload = json.RawMessage(fmt.Sprintf(`{"batch":"B-2026-0042","lot":"LOT-2026-0042","operator":"op-17","quantity":"12.%03d","scale":"SC-01","stable":true,"step":"weigh-api","unit":"kg"}`, i%1000))
	}
	if !attest {
		heads := map[string]Hash{}
		for i := range recs {
			r := &recs[i]
			if h, ok := heads[r.Stream]; ok {
				r.PrevHash = h
			}
			var err error
			if r.Hash, _, err = ComputeHash(nil, r); err != nil {
				tb.Fatal(err)
			}
			heads[r.Stream] = r.Hash
		}
		return recs, nil
	}
	a := mustAttester(tb, "engine-2026", attestKeyA)
	keys, err := NewAttested(a)
	if err != nil {
		tb.Fatal(err)
	}
	return attested(tb, a, recs), keys
}

// BenchmarkVerifyPeers measures, in one sitting, the verifier with and
// without attestation checks and its peer: the raw SHA-256 of exactly the
// bytes the chain hashes (each record's PrevHash and canonical encoding,
// encoded before the timer starts). All three report MB/s over those same
// bytes, so their ratio is the verifier's share of raw SHA-256 throughput.
func BenchmarkVerifyPeers(b *testing.B) {
	for _, attest := range []bool{false, true} {
		recs, keys := verifyBenchRecords(b, attest)
		var encs [][]byte
		total := 0
		for i := range recs {
			enc, err := Encode(append([]byte(nil), recs[i].PrevHash[:]...), &recs[i])
			if err != nil {
				b.Fatal(err)
			}
			encs = append(encs, enc)
			total += len(enc)
		}
		name := "plain"
		if attest {
			name = "attested"
		}
		b.Run(name+"/sha256", func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			var sink Hash
			for b.Loop() {
				for _, e := range encs {
					sink = sha256.Sum256(e)
				}
			}
			_ = sink
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(name+"/verify", func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				v := NewVerifier(nil)
				if keys != nil {
					v.Attestation(keys)
				}
				for i := range recs {
					if err := v.Add(&recs[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
