package genealogy_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func auditLink(e genealogy.Edge) audit.Link {
	return audit.Link{From: e.From, To: e.To, Kind: string(e.Kind)}
}

// pgAvailable says whether tests should also run on Postgres: when the test
// database is configured, or under CI, where pgtest then fails rather than
// skips if it cannot be reached.
func pgAvailable(t *testing.T) bool {
	t.Helper()
	return os.Getenv(pgtest.EnvURL) != "" || os.Getenv("CI") == "true"
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}
