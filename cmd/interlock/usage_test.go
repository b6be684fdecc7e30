package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: every bad invocation exits 2 with a message on
// standard error that names the problem, and prints nothing on standard
// output; none of them reaches a database.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1; a command that connected would fail
	// there, not with the usage error each case expects.
	db := []string{"-database-url", "postgres://nobody@127.0.0.1:1/none", "-schema", "s"}
	key := strings.Repeat("ab", 32)
	secret := "k1:" + strings.Repeat("zz", 32) // not hex: must never be echoed
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("# no keys\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(args ...string) []string { return append(append([]string{args[0]}, db...), args[1:]...) }
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "usage: interlock"},
		{"unknown command", []string{"vacuum"}, `unknown command "vacuum"`},
		{"unknown flag", []string{"migrate", "-schema", "s", "-force"}, "flag provided but not defined: -force"},
		{"stray argument", with("trace", "-lot", "lot/A", "-direction", "forward", "extra"), `unexpected argument "extra"`},
		{"flag after argument", []string{"feed", "x", "-from", "3"}, `unexpected argument "x"`},
		{"no database url", []string{"migrate", "-schema", "s"}, "-database-url is required"},
		{"no schema", []string{"feed", "-database-url", "postgres://x@127.0.0.1:1/x"}, "-schema: a name is required"},
		{"schema with a line break", []string{"migrate", "-database-url", "postgres://x@127.0.0.1:1/x", "-schema", "a\nb"}, "control character"},
		{"roles without app role", []string{"roles", "-schema", "s", "-owner-role", "o"}, "-app-role: a name is required"},
		{"roles one role for both", []string{"roles", "-schema", "s", "-owner-role", "r", "-app-role", "r"}, "must not connect as the role that owns the tables"},
		{"roles name ending a comment", []string{"roles", "-schema", "s\nDROP TABLE x;", "-owner-role", "o", "-app-role", "a"}, "control character"},
		{"verify without witness", with("verify", "-trusted-key", key), "-witness is required"},
		{"verify without trusted key", with("verify", "-witness", "w"), "-trusted-key is required"},
		{"verify short trusted key", with("verify", "-witness", "w", "-trusted-key", "abcd"), "an ed25519 public key is 32"},
		{"verify trusted key not hex", with("verify", "-witness", "w", "-trusted-key", "xyz"), `"xyz" is not hex`},
		{"verify attestation key not hex", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key", secret), "the key is not hex"},
		{"verify attestation key without id", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key", key), "want id:hexkey"},
		{"verify attestation key and id swapped", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key", strings.Repeat("zz", 32)+":k1"), "the id before the colon must be"},
		{"verify attestation key too short", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key", "k1:abcd"), "-attestation-key 1 (key k1)"},
		{"verify attestation file missing", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key-file", filepath.Join(t.TempDir(), "none")), "-attestation-key-file"},
		{"verify attestation file empty", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key-file", keyFile), "holds no key"},
		{"verify attestation env unset", with("verify", "-witness", "w", "-trusted-key", key, "-attestation-key-env", "INTERLOCK_TEST_NO_SUCH_VAR"), "$INTERLOCK_TEST_NO_SUCH_VAR is empty or not set"},
		{"trace without lot", with("trace", "-direction", "forward"), "-lot is required"},
		{"trace without direction", with("trace", "-lot", "lot/A"), "-direction is required"},
		{"trace sideways", with("trace", "-lot", "lot/A", "-direction", "sideways"), `-direction must be backward or forward, not "sideways"`},
		{"trace depth 0", with("trace", "-lot", "lot/A", "-direction", "forward", "-depth", "0"), "-depth must be between 1 and 1000, not 0"},
		{"trace depth not a number", with("trace", "-lot", "lot/A", "-direction", "forward", "-depth", "deep"), `invalid value "deep" for flag -depth`},
		{"trace format", with("trace", "-lot", "lot/A", "-direction", "forward", "-format", "yaml"), `-format must be text or json, not "yaml"`},
		{"export without format", []string{"export"}, "name a format"},
		{"export unknown format", []string{"export", "xml"}, `unknown format "xml"`},
		{"export epcis relative id base", append([]string{"export", "epcis"}, append(db, "-lot", "lot/A", "-direction", "forward", "-id-base", "example.com/")...), "-id-base must be an absolute URI ending in /"},
		{"export epcis id base without slash", append([]string{"export", "epcis"}, append(db, "-lot", "lot/A", "-direction", "forward", "-id-base", "https://id.example.com")...), "-id-base must be an absolute URI ending in /"},
		{"export csv without lot", append([]string{"export", "csv"}, append(db, "-direction", "forward")...), "-lot is required"},
		{"export csv sideways", append([]string{"export", "csv"}, append(db, "-lot", "lot/A", "-direction", "sideways")...), `-direction must be backward or forward, not "sideways"`},
		{"export fsma204 without cte", append([]string{"export", "fsma204"}, append(db, "-lot", "lot/A", "-direction", "forward")...), "-cte is required"},
		{"export fsma204 unknown cte", append([]string{"export", "fsma204"}, append(db, "-lot", "lot/A", "-direction", "forward", "-cte", "growing")...), `-cte must be receiving, transformation, shipping or first_land_based_receiving, not "growing"`},
		{"feed negative from", with("feed", "-from", "-1"), "-from must not be negative"},
		{"feed zero interval", with("feed", "-follow", "-interval", "0s"), "-interval must be positive"},
		{"feed zero read wait", with("feed", "-read-wait", "0s"), "-read-wait must be positive"},
		{"feed interval without follow", with("feed", "-interval", "5s"), "-interval applies only with -follow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := withEnv(t, nil, tt.args...)
			r.want(t, exitError)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, strings.Repeat("zz", 32)) {
				t.Errorf("stderr echoes an attestation key: %q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("a usage error printed %q on standard output", r.stdout)
			}
		})
	}
}

// TestConnectionError: a database that cannot be reached is exit 2, with
// the reason.
func TestConnectionError(t *testing.T) {
	t.Parallel()
	r := interlock(t, "feed", "-database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=5", "-schema", "s")
	r.want(t, exitError)
	if !strings.Contains(r.stderr, "interlock feed: connect:") {
		t.Errorf("stderr %q does not report the connection", r.stderr)
	}
	// The password in a URL is not repeated in the error, nor in one for
	// a URL that does not parse.
	for _, u := range []string{"postgres://ops:s3cret-pw@127.0.0.1:1/none?connect_timeout=5", "postgres://ops:s3cret-pw@127.0.0.1:1/none?sslmode=sometimes"} {
		r = interlock(t, "feed", "-database-url", u, "-schema", "s")
		r.want(t, exitError)
		if strings.Contains(r.stderr, "s3cret-pw") {
			t.Errorf("stderr repeats the database password: %q", r.stderr)
		}
	}
	// The URL may come from the environment instead of the process list.
	r = withEnv(t, map[string]string{envDatabaseURL: "postgres://nobody@127.0.0.1:1/none?connect_timeout=5"}, "migrate", "-schema", "s")
	r.want(t, exitError)
	if !strings.Contains(r.stderr, "interlock migrate: connect:") {
		t.Errorf("stderr %q does not report the connection", r.stderr)
	}
}

// TestHelp: -h prints a subcommand's usage and flags on standard output
// and exits 0; so do help and -h for the command.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"usage: interlock <command>", "migrate", "roles", "verify", "trace", "export", "feed"}},
		{[]string{"help", "verify"}, []string{"usage: interlock verify", "-witness", "-trusted-key", "-attestation-key-file"}},
		{[]string{"migrate", "-h"}, []string{"usage: interlock migrate", "owner role", "-app-role", "-database-url", "-schema"}},
		{[]string{"roles", "-h"}, []string{"usage: interlock roles", "-owner-role", "-app-role"}},
		{[]string{"trace", "-h"}, []string{"usage: interlock trace", "-direction", "-depth", "-format", "-lot"}},
		{[]string{"export", "epcis", "-h"}, []string{"usage: interlock export epcis", "-id-base", "-o"}},
		{[]string{"export", "csv", "-h"}, []string{"usage: interlock export csv", "-lot", "-o"}},
		{[]string{"export", "fsma204", "-h"}, []string{"usage: interlock export fsma204", "-cte", "first_land_based_receiving", "-o"}},
		{[]string{"export", "-h"}, []string{"epcis|csv|fsma204"}},
		{[]string{"feed", "-h"}, []string{"usage: interlock feed", "-from", "-follow", "-interval"}},
	} {
		r := interlock(t, tt.args...)
		r.want(t, exitOK)
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: stdout lacks %q:\n%s", tt.args, w, r.stdout)
			}
		}
		if r.stderr != "" {
			t.Errorf("%q: stderr %q", tt.args, r.stderr)
		}
	}
}
