package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses; see the package documentation.
const (
	exitOK     = 0
	exitBroken = 1
	exitError  = 2
)

// envDatabaseURL names the variable -database-url falls back to.
const envDatabaseURL = "INTERLOCK_DATABASE_URL"

// cli is one run of the command: where it writes and how it reads the
// environment, so that tests give it their own.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// subcommand is one of the command's verbs.
type subcommand struct {
	name, summary string
	run           func(c *cli, ctx context.Context, args []string) int
}

func subcommands() []subcommand {
	return []subcommand{
		{"migrate", "apply the schema's migrations, as its owner role", (*cli).migrate},
		{"roles", "print the SQL of the owner and application roles (never connects)", (*cli).roles},
		{"checkpoint", "sign a checkpoint of every stream head into the database and a witness file", (*cli).checkpoint},
		{"verify", "verify every stream against the witness's newest checkpoint", (*cli).verify},
		{"trace", "trace a lot backward or forward, with the record proving each link", (*cli).trace},
		{"export", "export a lot's trace (export epcis, csv, fsma204)", (*cli).export},
		{"feed", "print the record in global order, one JSON line per record", (*cli).feed},
	}
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: interlock <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, s := range subcommands() {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'interlock <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 verify found the record broken, 2 usage error or the command could not run.")
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitError
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			return c.run(ctx, []string{args[1], "-h"})
		}
		c.usage(c.stdout)
		return exitOK
	}
	for _, s := range subcommands() {
		if s.name == name {
			return s.run(c, ctx, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "interlock: unknown command %q\n", name)
	c.usage(c.stderr)
	return exitError
}

// command is the flag set of one subcommand with the text of its help.
type command struct {
	c     *cli
	name  string // such as "trace" or "export epcis"
	usage string // the synopsis line after "usage: interlock "
	about string // what the command does, a paragraph
	fs    *flag.FlagSet
}

func (c *cli) command(name, usage, about string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse errors are reported by parse, once, with a pointer to -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{c: c, name: name, usage: usage, about: about, fs: fs}
}

// parse parses args. When it returns false, the command must return code:
// 0 after -h printed the help, 2 after a usage error was reported.
func (cmd *command) parse(args []string) (ok bool, code int) {
	err := cmd.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		cmd.help(cmd.c.stdout)
		return false, exitOK
	}
	if err != nil {
		return false, cmd.usageError("%v", err)
	}
	if cmd.fs.NArg() > 0 {
		return false, cmd.usageError("unexpected argument %q (flags come before arguments, and this command takes none)", cmd.fs.Arg(0))
	}
	return true, 0
}

func (cmd *command) help(w io.Writer) {
	fmt.Fprintf(w, "usage: interlock %s\n\n%s\n\nflags:\n", cmd.usage, cmd.about)
	cmd.fs.SetOutput(w)
	cmd.fs.PrintDefaults()
	cmd.fs.SetOutput(io.Discard)
}

// usageError reports a usage error and returns exitError.
func (cmd *command) usageError(format string, args ...any) int {
	fmt.Fprintf(cmd.c.stderr, "interlock %s: %s\n", cmd.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(cmd.c.stderr, "Run 'interlock %s -h' for usage.\n", cmd.name)
	return exitError
}

// fail reports an error that kept the command from running and returns
// exitError.
func (cmd *command) fail(err error) int {
	fmt.Fprintf(cmd.c.stderr, "interlock %s: %v\n", cmd.name, err)
	return exitError
}

// required reports the first of the named string flags left empty, as a
// usage error; it returns 0 when all are set.
func (cmd *command) required(names ...string) int {
	for _, n := range names {
		f := cmd.fs.Lookup(n)
		if f == nil || strings.TrimSpace(f.Value.String()) == "" {
			return cmd.usageError("-%s is required", n)
		}
	}
	return 0
}
