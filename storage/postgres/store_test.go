package postgres_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
	"github.com/interlock-mes/interlock/storage/storagetest"
)

// testReadAllWait is longer than the default: parallel tests migrate their
// schemas in transactions that hold back everyone's ReadAll while they run,
// longer so on a loaded machine under the race detector.
const testReadAllWait = 30 * time.Second

func newStore(tb testing.TB) storage.Store {
	pool, schema := pgtest.Pool(tb)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: testReadAllWait})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, newStore)
}

func TestClock(t *testing.T) {
	t.Parallel()
	storagetest.RunClock(t, func(tb testing.TB, clock storage.Clock) storage.Store {
		pool, schema := pgtest.Pool(tb)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock, ReadAllWait: testReadAllWait})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	})
}

// TestConformanceAsApp runs the conformance suite on a pool that connects
// as an application role granted only what GrantApp grants, on a schema
// another role owns and migrated.
func TestConformanceAsApp(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(tb testing.TB) storage.Store {
		l := pgtest.Roles(tb)
		s, err := postgres.New(l.App, &postgres.Config{Schema: l.Schema, ReadAllWait: testReadAllWait})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store {
		pool, schema := pgtest.DurablePool(tb)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	})
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	tests := []struct {
		name    string
		pool    bool
		cfg     *postgres.Config
		wantErr string // substring; empty for success
	}{
		{name: "nil config", pool: true, cfg: nil},
		{name: "zero config", pool: true, cfg: &postgres.Config{}},
		{name: "explicit", pool: true, cfg: &postgres.Config{Schema: "interlock", Clock: time.Now}},
		{name: "nil pool", pool: false, cfg: nil, wantErr: "pool is nil"},
		{name: "long schema", pool: true, cfg: &postgres.Config{Schema: strings.Repeat("s", 64)}, wantErr: "Config.Schema"},
		{name: "NUL in schema", pool: true, cfg: &postgres.Config{Schema: "a\x00b"}, wantErr: "Config.Schema"},
		{name: "bad UTF-8 schema", pool: true, cfg: &postgres.Config{Schema: "a\xffb"}, wantErr: "Config.Schema"},
		{name: "negative wait", pool: true, cfg: &postgres.Config{ReadAllWait: -time.Second}, wantErr: "Config.ReadAllWait"},
		{name: "group commit off", pool: true, cfg: &postgres.Config{GroupCommit: postgres.GroupCommit{Off: true}}},
		{name: "group commit tuned", pool: true, cfg: &postgres.Config{GroupCommit: postgres.GroupCommit{MaxBatch: 8, Window: time.Millisecond, Writers: 3}}},
		{name: "negative batch", pool: true, cfg: &postgres.Config{GroupCommit: postgres.GroupCommit{MaxBatch: -1}}, wantErr: "Config.GroupCommit.MaxBatch"},
		{name: "negative window", pool: true, cfg: &postgres.Config{GroupCommit: postgres.GroupCommit{Window: -time.Millisecond}}, wantErr: "Config.GroupCommit.Window"},
		{name: "negative writers", pool: true, cfg: &postgres.Config{GroupCommit: postgres.GroupCommit{Writers: -2}}, wantErr: "Config.GroupCommit.Writers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pool
			if !tt.pool {
				p = nil
			}
			s, err := postgres.New(p, tt.cfg)
			switch {
			case tt.wantErr == "" && (err != nil || s == nil):
				t.Fatalf("New = %v, %v; want a store", s, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNotMigrated(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: pgtest.Schema(t, pool)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(t.Context(), "batch-1", 1); !errors.Is(err, postgres.ErrNotMigrated) {
		t.Errorf("Load on an empty schema: error = %v, want ErrNotMigrated", err)
	}
}
