// Command webapp is a reference operator and QA web app over Interlock's
// engine, for a team to run with one command and try:
//
//	go run ./examples/webapp            # then open http://127.0.0.1:8080
//
// It starts on a seeded demo plant: five people with roles (an operator
// trained in dispensing, one who is not, two QA people, a supervisor), a
// calibrated scale SC-01 and a mixer MX-01, lots of API-100 released (L7),
// in quarantine (L8) and on hold (L10), excipient lot L9, batch
// B-2026-001 started with its weighing step to do, and
// batch B-2026-000 made from L7 (finished lot FG-0) and waiting for QA
// release. Every seeded fact is recorded through gated commands, as is
// every write the pages make.
//
// Sign-in is a demo: choose a person; the signing password of everyone
// is "demo-password". The session cookie names the actor of every command; no
// form field does. Forms carry a per-session CSRF token, and every
// answer carries a content security policy.
//
// The pages:
//
//	/                              the dispatch board: the signed-in person's work in progress,
//	                               queued and blocked, each block with the gates and reasons
//	                               (the engine's dry run; nothing is tried)
//	/batches/{id}/steps/{step}     the route's weighing step: scan a lot's GS1 label on scanner
//	                               SCN-1 (simulated, read by the server) or type it (manual entry),
//	                               type a weight (recorded as
//	                               manual entry) or take the live one from scale SC-01 (an
//	                               MT-SICS simulator on a pty, read by the server), against the
//	                               tolerance band, net of the tare the server sets on it (Tare;
//	                               the completion records tare, net and gross); verify with an
//	                               e-signature; a denial shows its reasons and is on the record
//	/batches/{id}/steps/S20-mix    mixing on MX-01 and packing (S30-pack): start and complete, in
//	                               the route's order and, for mixing, with a mixer in service
//	/equipment                     equipment states and mixer MX-01's PLC (simulated behind Modbus
//	                               TCP on loopback, read by device/plc): a fault takes the mixer
//	                               out of service through the engine; return it with a reason
//	/batches/{id}/review           QA review by exception, release readiness, and release with
//	                               an e-signature
//	/batches/{id}/complete         the batch completed with its finished lot (from the review page)
//	/exceptions                    deviations opened (also from the step screen), lots held and released
//	/exceptions/{id}               a deviation: disposition, approval with an e-signature by QA who
//	                               took no part, rejection, release of the batch hold it placed
//	/handover                      shift handover: open items per batch and equipment, acknowledged
//	                               by the incoming person's signature
//	/lots/{id}                     genealogy: backward and forward trace drawn as SVG, recall
//	                               scope, the EPCIS 2.0 document
//	/audit                         every hash chain verified, with attestation, against the
//	                               checkpoint signed at start-up
//	/api/                          the httpapi JSON front door (its contract at /api/openapi.json)
//
// -addr changes the address; -database-url keeps the record in a new
// schema of a Postgres database (dropped at exit unless -keep). With
// -schema it keeps the record in that schema instead, made and seeded on
// the first start and used as it is on every later one; the plant's keys
// are then kept in -key-file (default: interlock/webapp-<schema>.keys in
// the user's configuration directory), since the engine does not fold a record it
// cannot prove it wrote.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interlock-mes/interlock/examples/internal/exstore"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/postgres"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	dbURL := flag.String("database-url", "", "Postgres URL to keep the records in, in a new schema (default: memory)")
	keep := flag.Bool("keep", false, "with -database-url: keep the schema instead of dropping it at exit")
	schema := flag.String("schema", "", "with -database-url: the schema to keep the records in across restarts (made on the first start)")
	keyFile := flag.String("key-file", "", "with -schema: the file that keeps the plant's keys (default: in the user's configuration directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{addr: *addr, dbURL: *dbURL, keep: *keep, schema: *schema, keyFile: *keyFile}
	if err := run(ctx, cfg, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	addr, dbURL string
	keep        bool
	schema      string
	keyFile     string
}

// run seeds the plant and serves it on cfg.addr until ctx is done. When
// started is not nil it receives the address the server listens on (for
// an addr with port 0).
func run(ctx context.Context, cfg config, logw io.Writer, started chan<- string) error {
	log := slog.New(slog.NewTextHandler(logw, nil))
	clock := storage.Clock(func() time.Time { return time.Now().UTC() })
	var (
		store      storage.Store
		closeStore func()
		k          *keys
		err        error
	)
	if cfg.schema != "" {
		if cfg.dbURL == "" {
			return errors.New("-schema needs -database-url")
		}
		if !schemaName.MatchString(cfg.schema) {
			return fmt.Errorf("-schema %q: use lower-case letters, digits and underscores, starting with a letter", cfg.schema)
		}
		if store, closeStore, err = openSchema(ctx, cfg.dbURL, cfg.schema, clock); err != nil {
			return err
		}
		path := cfg.keyFile
		if path == "" {
			dir, err := os.UserConfigDir()
			if err != nil {
				closeStore()
				return fmt.Errorf("no -key-file and no configuration directory: %w", err)
			}
			path = filepath.Join(dir, "interlock", "webapp-"+cfg.schema+".keys")
		}
		if k, err = loadKeys(path); err != nil {
			closeStore()
			return err
		}
		fmt.Fprintf(logw, "webapp: records in schema %s, keys in %s\n", cfg.schema, path)
	} else if store, closeStore, err = exstore.Open(ctx, cfg.dbURL, "webapp", cfg.keep, clock, logw); err != nil {
		return err
	}
	defer closeStore()
	p, err := newPlant(ctx, store, clock, k)
	if err != nil {
		return err
	}
	// Scale SC-01 is an MT-SICS scale simulated on a pseudo-terminal
	// (Linux); without one the step takes typed weights only.
	live, err := newLiveScale()
	if err != nil {
		log.Warn("no simulated scale; weights are typed only", "err", err)
		live = nil
	} else {
		defer live.Close()
	}
	a, err := newApp(p, live, log)
	if err != nil {
		return err
	}
	// Mixer MX-01's PLC is simulated in process behind Modbus TCP on
	// loopback, and read by device/plc's poller.
	if pl, err := newLivePLC(takeOutOnFault(p, log)); err != nil {
		log.Warn("no simulated PLC", "err", err)
	} else {
		defer pl.Close()
		a.plc = pl
	}
	// Barcode scanner SCN-1 sends GS1 element strings, one per line,
	// here from the simulator through a pipe.
	if sc, err := newLiveScanner(); err != nil {
		log.Warn("no simulated scanner; lots are typed only", "err", err)
	} else {
		defer sc.Close()
		a.scanner = sc
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving", "url", "http://"+ln.Addr().String())
	if started != nil {
		started <- ln.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// schemaName is what -schema accepts: a plain identifier, which is also
// safe in the key file's name.
var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// openSchema opens the Postgres store in schema of the database at url,
// migrating it first (a no-op once it is up to date). Nothing drops it.
func openSchema(ctx context.Context, url, schema string, clock storage.Clock) (storage.Store, func(), error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		pool.Close()
		return nil, nil, err
	}
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return s, pool.Close, nil
}
