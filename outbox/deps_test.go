package outbox_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreLinksNoBroker: a service that uses the relay with a broker of
// its own links no NATS code; only outbox/natsjs does.
func TestCoreLinksNoBroker(t *testing.T) {
	t.Parallel()
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps(".") {
		if strings.HasPrefix(d, "github.com/nats-io/") {
			t.Errorf("outbox links %s", d)
		}
	}
	found := false
	for _, d := range deps("./natsjs") {
		found = found || strings.HasPrefix(d, "github.com/nats-io/nats.go")
	}
	if !found {
		t.Error("outbox/natsjs does not link nats.go; the check above proves nothing")
	}
}
