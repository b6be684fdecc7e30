// Command matrix writes the traceability matrix: each requirement of
// validation/requirements.json joined to a run of the module's tests, as
// HTML and CSV, headed by the module version, git commit, Go and
// PostgreSQL versions and the date.
//
// It runs go test -json over ./... itself, passing on the arguments after
// "--", or reads the output of an earlier run with -from, either as
// go test -json wrote it or as go test -v did (a CI log):
//
//	go run ./validation/cmd/matrix -html matrix.html -csv matrix.csv -- -race -count=1 -p 1
//	go test -json ./... > run.json; go run ./validation/cmd/matrix -from run.json
//
// The PostgreSQL version is asked of INTERLOCK_TEST_DATABASE_URL when it is
// set. The command exits 1 when a technical requirement has a test that
// did not pass (failed, skipped, did not finish, did not run, or does not
// exist in its package's test files), after
// writing the matrix and listing each such test; 2 on a usage or I/O error.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interlock-mes/interlock/validation"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "read go test -json or -v output from this file instead of running the tests")
	reqFile := fs.String("requirements", "", "requirements file (default: the one embedded from validation/requirements.json)")
	htmlOut := fs.String("html", "matrix.html", "write the HTML matrix here")
	csvOut := fs.String("csv", "matrix.csv", "write the CSV matrix here")
	jsonOut := fs.String("json", "", "when running the tests, also keep their go test -json output here")
	pkgs := fs.String("packages", "./...", "the package pattern go test runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	reqs, err := loadRequirements(*reqFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	info := gather(ctx)
	var results validation.Results
	if *from != "" {
		f, err := os.Open(*from)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		results, err = validation.ReadAny(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		info.Command = "go test (output read from " + *from + ")"
	} else {
		testArgs := append([]string{"test", "-json"}, fs.Args()...)
		testArgs = append(testArgs, *pkgs)
		info.Command = "go " + strings.Join(testArgs, " ")
		fmt.Fprintln(stderr, "running", info.Command)
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "go", testArgs...)
		cmd.Stdout = &out
		cmd.Stderr = stderr
		// A failing test makes go test exit non-zero; the matrix says
		// which, so only a run that could not start is an error here.
		if err := cmd.Run(); err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				fmt.Fprintln(stderr, err)
				return 2
			}
		}
		if *jsonOut != "" {
			if err := os.WriteFile(*jsonOut, out.Bytes(), 0o644); err != nil {
				fmt.Fprintln(stderr, err)
				return 2
			}
		}
		if results, err = validation.ReadResults(&out); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	root, err := output(ctx, "go", "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		fmt.Fprintln(stderr, "go list -m:", err)
		return 2
	}
	if err := results.MarkUndeclared(root, reqs); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	m := validation.Join(info, reqs, results)
	if err := write(*htmlOut, m.WriteHTML); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err := write(*csvOut, m.WriteCSV); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	pass, fail, proc := m.Counts()
	fmt.Fprintf(stdout, "%s %s at %s: %d requirements passed, %d failed, %d procedural; wrote %s and %s\n",
		info.Module, info.Version, info.Commit, pass, fail, proc, *htmlOut, *csvOut)
	if p := m.Problems(); len(p) > 0 {
		fmt.Fprintln(stderr, "requirements without passing evidence:")
		for _, l := range p {
			fmt.Fprintln(stderr, "  "+l)
		}
		return 1
	}
	return 0
}

func loadRequirements(path string) (validation.Requirements, error) {
	if path == "" {
		return validation.Embedded()
	}
	f, err := os.Open(path)
	if err != nil {
		return validation.Requirements{}, err
	}
	defer f.Close()
	return validation.ParseRequirements(f)
}

func write(path string, fn func(io.Writer) error) error {
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// gather finds the facts that head the matrix; a fact it cannot find says
// why instead.
func gather(ctx context.Context) validation.Info {
	info := validation.Info{Date: time.Now().UTC(), GoVersion: runtime.Version()}
	if v, err := output(ctx, "go", "env", "GOVERSION"); err == nil {
		info.GoVersion = v // the toolchain that runs the tests
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.Module, info.Version = bi.Main.Path, bi.Main.Version
	}
	if v, err := output(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Version}}"); err == nil {
		path, version, _ := strings.Cut(v, " ")
		info.Module = path
		if version != "" {
			info.Version = version
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if c, err := output(ctx, "git", "rev-parse", "HEAD"); err == nil {
		info.Commit = c
		if s, err := output(ctx, "git", "status", "--porcelain", "--untracked-files=no"); err == nil && s != "" {
			info.Commit += "+dirty"
		}
	} else {
		info.Commit = "unknown: " + err.Error()
	}
	info.Postgres = postgresVersion(ctx, os.Getenv("INTERLOCK_TEST_DATABASE_URL"))
	return info
}

func postgresVersion(ctx context.Context, url string) string {
	if url == "" {
		return "not tested: INTERLOCK_TEST_DATABASE_URL is not set"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "unknown: " + err.Error()
	}
	return v
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return strings.TrimSpace(string(out)), err
}
