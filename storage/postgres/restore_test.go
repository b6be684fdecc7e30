package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// TestDumpAndRestoreIntoAnotherCluster takes the record with pg_dump,
// restores it into a second cluster made for the test (whose transaction
// ids start over), and checks that it verifies there, that appends wait
// for Migrate (which registers the cluster), and that what is appended
// after comes after every restored record in global order, so a reader
// that stopped at the last restored position reads it next.
func TestDumpAndRestoreIntoAnotherCluster(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pg_createcluster", "pg_dropcluster", "pg_dump", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; CI runs this test", tool)
			}
			t.Skipf("%s is not installed (Debian's postgresql-common); skipping the restore test", tool)
		}
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_createcluster needs root; CI runs this test as root")
		}
		t.Skip("pg_createcluster needs root; skipping the restore test")
	}
	ctx := t.Context()
	pool, schema := pgtest.Pool(t)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "batch-1", 3)
	appendN(t, s, "lot-1", 2)
	before, err := storage.Verify(ctx, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	// pg_dump of the schema alone, without owners or grants: the other
	// cluster has neither role.
	dir := t.TempDir()
	dump := filepath.Join(dir, "record.sql")
	src := os.Getenv(pgtest.EnvURL)
	run(t, "pg_dump", "--no-owner", "--no-privileges", "-n", schema, "-f", dump, src)

	// A second cluster on a free port, trusting local connections.
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		t.Fatalf("no PostgreSQL version under /etc/postgresql: %v", err)
	}
	version := versions[0].Name()
	var b [4]byte
	rand.Read(b[:])
	name := "ilrestore" + hex.EncodeToString(b[:])
	port := freePort(t)
	run(t, "pg_createcluster", "-p", fmt.Sprint(port), "--start", version, name, "--", "--auth-local=trust", "--auth-host=trust")
	t.Cleanup(func() {
		out, err := exec.Command("pg_dropcluster", "--stop", version, name).CombinedOutput()
		if err != nil {
			t.Errorf("pg_dropcluster %s %s: %v\n%s", version, name, err, out)
		}
	})
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	run(t, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE restored", admin)
	dst := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/restored?sslmode=disable", port)
	run(t, "psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", dump, dst)

	pool2, err := pgxpool.New(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	r, err := postgres.New(pool2, &postgres.Config{Schema: schema, ReadAllWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	after, err := storage.Verify(ctx, r, nil, nil)
	if err != nil || after.Records != before.Records || len(after.Breaks) != 0 || after.Position != before.Position {
		t.Fatalf("the restored record: %+v, %v; want %d records up to position %d, unbroken", after, err, before.Records, before.Position)
	}
	// The new cluster's transaction ids start over: appends wait for
	// Migrate, which places its positions past the restored ones.
	if _, err := r.Append(ctx, oneEvent("batch-1", 3, `{"n":4}`)); !errors.Is(err, postgres.ErrNotMigrated) {
		t.Fatalf("append before Migrate on the new cluster: %v; want ErrNotMigrated", err)
	}
	if err := postgres.Migrate(ctx, pool2, schema); err != nil {
		t.Fatal(err)
	}
	res, err := r.Append(ctx, oneEvent("batch-1", 3, `{"n":4}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Records[0].Position; p <= before.Position {
		t.Fatalf("the first append after the restore is at position %d, not after the restored %d", p, before.Position)
	}
	next, err := r.ReadAll(ctx, before.Position, 10)
	if err != nil || len(next) != 1 || next[0].Stream != "batch-1" || next[0].Version != 4 {
		t.Fatalf("a reader after the last restored position: %+v, %v; want batch-1 v4", next, err)
	}
	if rep, err := storage.Verify(ctx, r, nil, nil); err != nil || len(rep.Breaks) != 0 || rep.Records != before.Records+1 {
		t.Errorf("the record after appending on the new cluster: %+v, %v", rep, err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
