package pgwalk_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage/postgres/pgwalk"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := pgwalk.New(nil, &pgwalk.Config{Schema: "s"}); err == nil {
		t.Error("nil pool: no error")
	}
	// New does no I/O: a pool that cannot connect will do.
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for name, cfg := range map[string]*pgwalk.Config{
		"nil config":            nil,
		"no schema":             {},
		"negative SmallWalk":    {Schema: "s", SmallWalk: -1},
		"negative ClosureDelta": {Schema: "s", ClosureDelta: -1},
	} {
		if _, err := pgwalk.New(pool, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := pgwalk.New(pool, &pgwalk.Config{Schema: "s", ClosureEdges: -1}); err != nil {
		t.Errorf("ClosureEdges -1 (never store): %v", err)
	}
}
