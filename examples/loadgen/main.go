// Command loadgen drives a realistic plant through Interlock's engine, on
// the memory store or on Postgres, and prints what the hardware it runs on
// sustains: commands and events per second and latency percentiles, per
// kind of command, so that an integrator can size a site's hardware.
//
//	go run ./examples/loadgen -duration 30s -operators 8 -scales 4 -plcs 8
//	go run ./examples/loadgen -store postgres -database-url postgres://... -duration 30s
//
// The plant (-mode plant, the default) has operators who run batches on an
// approved route (release, start bound to the route, a weighing step that
// scans a lot, weighs it on a scale as device evidence and consumes it, a
// pH step, completion producing a finished lot), checkweighers whose
// streamed weights are each a gated command, and PLCs served over Modbus
// TCP on loopback whose PackML state tags a poller turns into equipment
// events run through the engine. Denials, conflicts the engine retried
// and conflicts it gave up on are counted apart from successes, and at the
// end the whole record is verified, each record's attestation included.
//
// The last line gives the rates a harness compares: the operators'
// allowed transitions per second and the devices' recorded events per
// second (checkweighs and PackML changes).
//
// -mode appends measures the store alone: -writers goroutines append one
// event at a time to streams of their own, as the store benchmarks do.
//
// On Postgres, loadgen makes its own schema, migrated unless
// -migrate=false, and drops it at the end unless -drop=false; a schema
// named with -schema is dropped only with -drop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if !res.OK() {
		fmt.Fprintln(os.Stderr, "loadgen: the run failed its checks (see above)")
		os.Exit(1)
	}
}

// Mode is what a run drives.
type Mode string

// The modes of a run.
const (
	ModePlant   Mode = "plant"   // operators, checkweighers and PLCs through the engine
	ModeAppends Mode = "appends" // raw store appends from Writers goroutines
)

// Config is one run's configuration, as the flags give it.
type Config struct {
	Mode        Mode
	Store       string // "memory" or "postgres"
	DatabaseURL string
	// Schema is the Postgres schema the run keeps its records in; Migrate
	// creates and migrates it first, Drop drops it at the end.
	Schema        string
	Migrate, Drop bool
	// Conns is the Postgres pool size; 0 gives one per worker and two more.
	Conns int
	// NoGroupCommit writes every append in a transaction of its own
	// (postgres.GroupCommit.Off).
	NoGroupCommit bool
	Duration      time.Duration

	Operators, Scales, PLCs, Lots int
	// Checkweigh makes every scale stream weights, each a gated command;
	// without it the scales only weigh for the operators.
	Checkweigh bool
	// DenyRate is the share of weighings (operators' and checkweighers')
	// that fall outside tolerance, which the gates deny; they are spread
	// evenly over each worker's weighings, its first among them.
	DenyRate float64
	// ScaleInterval and PLCInterval pause each checkweigher between
	// weights and each poller between polls; 0 runs them flat out.
	ScaleInterval, PLCInterval time.Duration
	// Recalibrate is how often a supervisor recalibrates a scale, which
	// moves a fact the weighing gates read (0: never).
	Recalibrate time.Duration
	// Writers is the number of appending goroutines of ModeAppends.
	Writers int
	Seed    int64
}

// parseFlags reads a Config from args; every invalid flag is reported in
// one error.
func parseFlags(args []string, out io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: loadgen [-mode plant|appends] [-store memory|postgres -database-url URL] [-duration 30s] [-operators 8 -scales 4 -plcs 8] [-writers 8]")
		fs.PrintDefaults()
	}
	c := &Config{}
	var mode string
	fs.StringVar(&mode, "mode", string(ModePlant), "plant: operators, scales and PLCs through the engine; appends: raw store appends from -writers goroutines")
	fs.StringVar(&c.Store, "store", "memory", "memory or postgres")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "the Postgres database (required with -store postgres)")
	fs.StringVar(&c.Schema, "schema", "", "Postgres schema for the run's records (default loadgen_<random>)")
	fs.BoolVar(&c.Migrate, "migrate", true, "create and migrate -schema before the run")
	fs.BoolVar(&c.Drop, "drop", true, "drop the schema at the end of the run (default: true for the schema loadgen names, false for -schema)")
	fs.IntVar(&c.Conns, "conns", 0, "Postgres pool size (default: one per worker, plus two)")
	groupCommit := fs.Bool("group-commit", true, "Postgres: appends that arrive while others are written share a transaction (postgres.Config.GroupCommit)")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to drive the load")
	fs.IntVar(&c.Operators, "operators", 8, "operators, each running batches one after another")
	fs.IntVar(&c.Scales, "scales", 4, "checkweighers streaming weights")
	fs.IntVar(&c.PLCs, "plcs", 8, "PLCs whose PackML state tags a poller turns into equipment events")
	fs.BoolVar(&c.Checkweigh, "checkweigh", true, "every scale streams weights as a checkweigher, each a gated command")
	fs.IntVar(&c.Lots, "lots", 2, "released lots the operators share (fewer lots, more conflicts)")
	fs.Float64Var(&c.DenyRate, "deny-rate", 0.05, "share of weighings outside tolerance, which the gates deny")
	fs.DurationVar(&c.ScaleInterval, "scale-interval", 0, "pause between a checkweigher's weights (0: flat out)")
	fs.DurationVar(&c.PLCInterval, "plc-interval", 0, "pause between a poller's polls (0: flat out)")
	fs.DurationVar(&c.Recalibrate, "recalibrate", 5*time.Second, "how often a supervisor recalibrates a scale (0: never)")
	fs.IntVar(&c.Writers, "writers", 8, "with -mode appends: appending goroutines")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the plant's random choices")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.NoGroupCommit = !*groupCommit
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.Mode = Mode(mode)
	// A schema someone named may hold what they want to keep: it is
	// dropped only when they say so.
	dropSet := false
	fs.Visit(func(f *flag.Flag) { dropSet = dropSet || f.Name == "drop" })
	if c.Schema != "" && !dropSet {
		c.Drop = false
	}
	return c, c.validate()
}

// validate reports every problem of c in one error, each naming its flag.
func (c *Config) validate() error {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	switch c.Mode {
	case ModePlant:
		if c.Operators < 0 || c.Scales < 0 || c.PLCs < 0 {
			bad("-operators, -scales and -plcs must not be negative (got %d, %d, %d)", c.Operators, c.Scales, c.PLCs)
		}
		if c.Operators+c.PLCs == 0 && (c.Scales == 0 || !c.Checkweigh) {
			bad("no operators, no PLCs and no checkweighing scales: nothing to drive")
		}
		if c.Operators > 0 && c.Scales == 0 {
			bad("-operators needs at least one scale to weigh on (-scales)")
		}
		if c.Lots < 1 {
			bad("-lots is %d; it must be at least 1", c.Lots)
		}
		if c.DenyRate < 0 || c.DenyRate > 1 {
			bad("-deny-rate is %v; it must be between 0 and 1", c.DenyRate)
		}
		if c.ScaleInterval < 0 || c.PLCInterval < 0 || c.Recalibrate < 0 {
			bad("-scale-interval, -plc-interval and -recalibrate must not be negative")
		}
	case ModeAppends:
		if c.Writers < 1 {
			bad("-writers is %d; it must be at least 1", c.Writers)
		}
	default:
		bad("-mode is %q; want plant or appends", c.Mode)
	}
	switch c.Store {
	case "memory":
		if c.DatabaseURL != "" {
			bad("-database-url is given with -store memory; add -store postgres")
		}
	case "postgres":
		if c.DatabaseURL == "" {
			bad("-store postgres needs -database-url")
		}
		if c.Schema != "" && !validSchema(c.Schema) {
			bad("-schema %q is not a lower-case identifier (a-z, 0-9, _; at most 63 bytes)", c.Schema)
		}
	default:
		bad("-store is %q; want memory or postgres", c.Store)
	}
	if c.Duration <= 0 {
		bad("-duration is %v; it must be positive", c.Duration)
	}
	if c.Conns < 0 {
		bad("-conns is %d; it must not be negative", c.Conns)
	}
	if len(p) > 0 {
		return errors.New("invalid flags:\n  " + strings.Join(p, "\n  "))
	}
	return nil
}

// validSchema says whether s is a schema name loadgen can use unquoted.
func validSchema(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// workers is how many goroutines write at once.
func (c *Config) workers() int {
	if c.Mode == ModeAppends {
		return c.Writers
	}
	n := c.Operators + c.PLCs
	if c.Checkweigh {
		n += c.Scales
	}
	if c.Recalibrate > 0 {
		n++
	}
	return n
}
