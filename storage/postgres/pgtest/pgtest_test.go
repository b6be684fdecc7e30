package pgtest_test

import (
	"testing"

	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestPoolSchemaLifecycle checks that a test gets a migrated schema of its
// own and that the schema is gone once the test ends.
func TestPoolSchemaLifecycle(t *testing.T) {
	outer := pgtest.Connect(t)
	var schema string
	t.Run("inner", func(t *testing.T) {
		pool, s := pgtest.Pool(t)
		schema = s
		var tables int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, s).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables == 0 {
			t.Errorf("schema %s has no tables; want a migrated one", s)
		}
	})
	var exists bool
	if err := outer.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}

// TestSkipsWithoutDatabase checks the rule's first half: no URL, no CI,
// the test is skipped rather than failed. (Under CI=true it fails, which a
// test cannot show without failing itself.)
func TestSkipsWithoutDatabase(t *testing.T) {
	t.Setenv(pgtest.EnvURL, "")
	t.Setenv("CI", "")
	var inner *testing.T
	t.Run("inner", func(t *testing.T) {
		inner = t
		pgtest.Pool(t)
		t.Error("Pool returned without a database")
	})
	if !inner.Skipped() {
		t.Error("the test was not skipped")
	}
}
