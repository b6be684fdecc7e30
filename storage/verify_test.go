package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/storagetest"
)

// TestVerifyOnEveryCoreMatchesOne verifies the same record on one core and
// on four, where records are hashed and their attestations checked a batch
// at a time in parallel: over a store's Scan (which reuses the record it
// hands over) and over a tampered copy read a page at a time, across
// several batches, the reports are the same, breaks included.
func TestVerifyOnEveryCoreMatchesOne(t *testing.T) {
	s := memory.New(nil)
	versions := map[string]int64{}
	for i := range 300 {
		stream := fmt.Sprintf("batch-%d", i%7)
		sa := storage.StreamAppend{Stream: stream, ExpectedVersion: versions[stream]}
		for j := range 10 {
			sa.Events = append(sa.Events, storage.Event{Type: "step.completed", Actor: "op-1",
				Payload:  json.RawMessage(fmt.Sprintf(`{"i":%d,"j":%d}`, i, j)),
				Evidence: json.RawMessage(fmt.Sprintf(`[{"scan":"L%d"}]`, j)),
				Links:    []audit.Link{{From: fmt.Sprintf("lot/L%d", j), To: stream, Kind: "consumed"}}})
		}
		if _, err := s.Append(t.Context(), storage.AppendRequest{Streams: []storage.StreamAppend{sa}}); err != nil {
			t.Fatal(err)
		}
		versions[stream] += 10
	}
	attacker := storagetest.SnapshotAttacker(t, s)
	recs, err := s.Load(t.Context(), "batch-3", 1)
	if err != nil {
		t.Fatal(err)
	}
	changed := recs[200]
	changed.Payload = json.RawMessage(`{"i":0,"j":99}`)
	attacker.Replace(t, changed)
	attacker.Delete(t, "batch-5", 300)

	all, err := s.ReadAll(t.Context(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		reader storage.Reader
		breaks bool
	}{{"scan", s, false}, {"scan reusing its buffers", &reusing{Reader: s, recs: all}, false}, {"tampered pages", attacker.Reader(), true}} {
		t.Run(c.name, func(t *testing.T) {
			verify := func(procs int) *storage.Report {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				rep, err := storage.Verify(t.Context(), c.reader, nil, nil)
				if (err != nil) != c.breaks {
					t.Fatalf("on %d cores: %v", procs, err)
				}
				return rep
			}
			one, four := verify(1), verify(4)
			if diff := cmp.Diff(one, four); diff != "" {
				t.Fatalf("report (-one core +four):\n%s", diff)
			}
			if one.Records != 3000 && !c.breaks {
				t.Fatalf("verified %d records, want 3000", one.Records)
			}
			if c.breaks && len(one.Breaks) == 0 {
				t.Fatal("the tampered copy verified")
			}
		})
	}
}

// reusing is a Scanner that hands over every record in one struct, with
// its payload, evidence and links in buffers it then reuses for the next
// record, as the Scanner contract allows.
type reusing struct {
	storage.Reader
	recs []audit.Record
}

func (r *reusing) Scan(_ context.Context, after int64, fn func(*audit.Record) error) error {
	var (
		rec   audit.Record
		data  []byte
		links []audit.Link
	)
	for _, src := range r.recs {
		if src.Position <= after {
			continue
		}
		rec = src
		data = append(append(data[:0], src.Payload...), src.Evidence...)
		rec.Payload, rec.Evidence = data[:len(src.Payload)], data[len(src.Payload):]
		links = append(links[:0], src.Links...)
		rec.Links = links
		if err := fn(&rec); err != nil {
			return err
		}
	}
	return nil
}
