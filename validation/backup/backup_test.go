package backup_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/witness"
	"github.com/interlock-mes/interlock/validation/backup"
)

type site struct {
	store   *postgres.Store
	schema  string
	key     ed25519.PrivateKey
	keys    *audit.Keys
	witness *witness.File
	cfg     *backup.Config
}

func newSite(t *testing.T) *site {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	store, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	keys, err := audit.NewKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.NewFile(filepath.Join(t.TempDir(), "witness.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s := &site{store: store, schema: schema, key: key, keys: keys, witness: w}
	s.cfg = &backup.Config{DatabaseURL: os.Getenv(pgtest.EnvURL), Schema: schema, Witness: w, Keys: keys}
	return s
}

// write appends n records to stream.
func (s *site) write(t *testing.T, stream string, n int) {
	t.Helper()
	ctx := t.Context()
	recs, err := s.store.Load(ctx, stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		payload, _ := json.Marshal(map[string]int{"n": len(recs) + i + 1})
		if _, err := s.store.Append(ctx, storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream, ExpectedVersion: int64(len(recs) + i),
			Events: []storage.Event{{Type: "test.recorded", Actor: "op-7", Payload: payload}}}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *site) checkpoint(t *testing.T) *audit.Checkpoint {
	t.Helper()
	cp, err := storage.Checkpoint(t.Context(), s.store, s.key, time.Now(), s.witness)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestRoundTrip dumps a schema, restores it into a fresh database and
// verifies it against the witnessed checkpoint: every record is there, the
// heads match the source's, the signed record verifies, and the restored
// database is gone afterwards.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i, stream := range []string{"batch/B1", "lot/L7", "equipment/SC-01"} {
		s.write(t, stream, 3+i)
	}
	cp := s.checkpoint(t)
	s.write(t, "batch/B1", 1) // after the checkpoint: allowed, and compared with the source
	rec, err := backup.Run(t.Context(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.OK() || rec.Records != 13 || rec.Streams != 3 || rec.SourceHeads != 3 || rec.Checkpoint != cp.Position || rec.CheckpointHeads != 3 || len(rec.DumpSHA256) != 64 {
		t.Fatalf("record = %+v; want 13 records in 3 streams, restorable\n%s", rec, rec.Bytes())
	}
	if !strings.Contains(string(rec.Bytes()), "verdict:     RESTORABLE") {
		t.Errorf("record text:\n%s", rec.Bytes())
	}
	pub := s.key.Public().(ed25519.PublicKey)
	if !ed25519.Verify(pub, rec.Bytes(), rec.Sign(s.key)) {
		t.Error("the signed record does not verify")
	}
	admin := pgtest.Connect(t)
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", rec.RestoredTo).Scan(&n); err != nil || n != 0 {
		t.Errorf("restored database %s left behind (%d, %v)", rec.RestoredTo, n, err)
	}
}

// TestStaleBackupIsCaught: a dump taken before the last records were
// written and witnessed is restorable as a database, but not as the
// record: the restore lacks heads the newest checkpoint holds, and the
// verification says which stream and version.
func TestStaleBackupIsCaught(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.write(t, "batch/B1", 3)
	s.write(t, "lot/L7", 2)
	s.checkpoint(t)
	dump := filepath.Join(t.TempDir(), "old.dump")
	if err := backup.Dump(t.Context(), s.cfg.DatabaseURL, s.schema, dump); err != nil {
		t.Fatal(err)
	}
	s.write(t, "batch/B1", 2) // its last records
	s.write(t, "lot/L8", 1)   // a stream the dump never saw
	s.checkpoint(t)
	rec, err := backup.Restore(t.Context(), s.cfg, dump)
	if err != nil {
		t.Fatal(err)
	}
	if rec.OK() {
		t.Fatalf("a stale backup verified:\n%s", rec.Bytes())
	}
	text := string(rec.Bytes())
	for _, want := range []string{`"batch/B1"`, `"lot/L8"`, "NOT RESTORABLE"} {
		if !strings.Contains(text, want) {
			t.Errorf("record lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, `"lot/L7"`) {
		t.Errorf("record blames lot/L7, which the dump holds whole:\n%s", text)
	}
	// The current dump of the same schema verifies: the failure is the
	// backup's, not the method's.
	fresh := filepath.Join(t.TempDir(), "new.dump")
	if err := backup.Dump(t.Context(), s.cfg.DatabaseURL, s.schema, fresh); err != nil {
		t.Fatal(err)
	}
	if rec, err := backup.Restore(t.Context(), s.cfg, fresh); err != nil || !rec.OK() {
		t.Errorf("a current dump: %v\n%s", err, rec.Bytes())
	}
}

// TestConfigValidated: a missing field is named.
func TestConfigValidated(t *testing.T) {
	keys, _ := audit.NewKeys(make(ed25519.PublicKey, ed25519.PublicKeySize))
	w, _ := witness.NewFile("x")
	for field, cfg := range map[string]*backup.Config{
		"DatabaseURL": {Schema: "s", Witness: w, Keys: keys},
		"Schema":      {DatabaseURL: "postgres://x/y", Witness: w, Keys: keys},
		"Witness":     {DatabaseURL: "postgres://x/y", Schema: "s", Keys: keys},
		"Keys":        {DatabaseURL: "postgres://x/y", Schema: "s", Witness: w},
	} {
		if _, err := backup.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("without %s: %v", field, fmt.Sprint(err))
		}
	}
}
