package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// BenchmarkVerifyPeers measures storage.VerifyWith with attestation checks
// over 10,000 and 100,000 attested records, on one core and on every core, beside its
// peer: the raw SHA-256 (one core) of exactly the bytes the chain hashes.
// All report MB/s over those bytes, so their ratio is verification's
// share of raw SHA-256 throughput (#18: at least 0.5).
func BenchmarkVerifyPeers(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { verifyPeers(b, n) })
	}
}

func verifyPeers(b *testing.B, n int) {
	recs, keys := attestedRecords(b, n)
	var encs [][]byte
	total := 0
	for i := range recs {
		enc, err := audit.Encode(slices.Clone(recs[i].PrevHash[:]), &recs[i])
		if err != nil {
			b.Fatal(err)
		}
		encs = append(encs, enc)
		total += len(enc)
	}
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(total))
		var sink audit.Hash
		for b.Loop() {
			for _, e := range encs {
				sink = sha256.Sum256(e)
			}
		}
		_ = sink
	})
	r := &records{recs: recs}
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("verify/cores=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				rep, err := storage.VerifyWith(b.Context(), r, storage.VerifyConfig{Attestation: keys})
				if err != nil || rep.Records != int64(len(recs)) || rep.Unattested != 0 {
					b.Fatalf("verify: %v, %+v", err, rep)
				}
			}
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// attestedRecords is n records of about 390 bytes over four streams, as an
// engine attesting with the returned keys writes them, chained.
func attestedRecords(b *testing.B, n int) ([]audit.Record, *audit.Attested) {
	a, err := audit.NewAttester("engine-2026", bytes.Repeat([]byte{0xa1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := audit.NewAttested(a)
	if err != nil {
		b.Fatal(err)
	}
	streams := []string{"batch/B-2026-0001", "batch/B-2026-0002", "lot/LOT-2026-0042", "equipment/SC-01"}
	heads := map[string]audit.Record{}
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	out := make([]audit.Record, 0, n)
	for i := range n {
		s := streams[i%len(streams)]
		r := audit.Record{Stream: s, Version: 1, Position: int64(i + 1), Type: "step.completed", Actor: "op-17",
			Time: t0.Add(time.Duration(i) * time.Millisecond), Evidence: json.RawMessage(`[{"scale":"SC-01","stable":true}]`),
			Links: []audit.Link{{From: "lot/LOT-2026-0042", To: s, Kind: "consumed"}}, PrevHash: audit.Genesis(s)}
		if h, ok := heads[s]; ok {
			r.Version, r.PrevHash = h.Version+1, h.Hash
		}
		payload := json.RawMessage(fmt.Sprintf(`{"batch":"B-2026-0042","lot":"LOT-2026-0042","quantity":"12.%03d","unit":"kg"}`, i%1000))
		if r.Payload, err = a.Attest(nil, &audit.AttestedEvent{Stream: r.Stream, Version: r.Version, Type: r.Type, Actor: r.Actor,
			Payload: payload, Evidence: r.Evidence, Links: r.Links}); err != nil {
			b.Fatal(err)
		}
		if r.Hash, _, err = audit.ComputeHash(nil, &r); err != nil {
			b.Fatal(err)
		}
		heads[s] = r
		out = append(out, r)
	}
	return out, keys
}

// records is a storage.Reader and Scanner over recs, in position order.
type records struct{ recs []audit.Record }

func (r *records) Load(_ context.Context, stream string, from int64) ([]audit.Record, error) {
	var out []audit.Record
	for _, rec := range r.recs {
		if rec.Stream == stream && rec.Version >= from {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (r *records) ReadAll(_ context.Context, after int64, limit int) ([]audit.Record, error) {
	var out []audit.Record
	for _, rec := range r.recs {
		if rec.Position > after && len(out) < limit {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (r *records) Scan(_ context.Context, after int64, fn func(*audit.Record) error) error {
	for i := range r.recs {
		if r.recs[i].Position > after {
			if err := fn(&r.recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *records) Heads(context.Context) ([]audit.Head, error) {
	last := map[string]audit.Head{}
	for _, rec := range r.recs {
		last[rec.Stream] = audit.Head{Stream: rec.Stream, Version: rec.Version, Hash: rec.Hash}
	}
	var out []audit.Head
	for _, h := range last {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b audit.Head) int { return cmpString(a.Stream, b.Stream) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *records) Traverse(context.Context, storage.TraverseRequest) ([]storage.Edge, error) {
	return nil, nil
}

func (r *records) LatestCheckpoint(context.Context, *audit.Keys) (*audit.Checkpoint, error) {
	return nil, storage.ErrNotFound
}
