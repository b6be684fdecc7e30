package validation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// verboseLog is go test -v output of three packages, as CI's log holds it:
// passes, a skip, a failing subtest that fails its parent, a test that
// never ended, and a package without tests.
const verboseLog = `=== RUN   TestOK
--- PASS: TestOK (0.00s)
=== RUN   TestParent
=== RUN   TestParent/ok
=== RUN   TestParent/bad
    x_test.go:9: boom
--- FAIL: TestParent (0.00s)
    --- PASS: TestParent/ok (0.00s)
    --- FAIL: TestParent/bad (0.00s)
FAIL
FAIL	example.com/m/a	0.012s
=== RUN   TestNeedsDB
    db_test.go:3: INTERLOCK_TEST_DATABASE_URL is not set
--- SKIP: TestNeedsDB (0.00s)
=== RUN   TestHung
panic: test timed out after 1s
FAIL	example.com/m/b	1.003s
?   	example.com/m/c	[no test files]
=== PAUSE TestOK
=== CONT  TestOK
--- PASS: TestOK (0.00s)
ok  	example.com/m	(cached)
=== RUN   TestCutShort
`

// TestReadVerbose: each top-level test is given to the package whose
// summary line follows it, with the outcome the JSON reader would give;
// a run cut short after the last summary names nobody.
func TestReadVerbose(t *testing.T) {
	got, err := ReadAny(strings.NewReader("\n" + verboseLog))
	if err != nil {
		t.Fatal(err)
	}
	want := Results{
		"example.com/m/a": {"TestOK": Passed, "TestParent": Failed},
		"example.com/m/b": {"TestNeedsDB": Skipped, "TestHung": Running},
		"example.com/m/c": {},
		"example.com/m":   {"TestOK": Passed},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	// The same run as JSON reads the same through ReadAny.
	js, err := ReadAny(strings.NewReader(stream("run a TestOK", "pass a TestOK", "run b TestHung")))
	if err != nil {
		t.Fatal(err)
	}
	if js.Outcome(mod+"/a", "TestOK") != Passed || js.Outcome(mod+"/b", "TestHung") != Running {
		t.Errorf("ReadAny on JSON = %v", js)
	}
}
