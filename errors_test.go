package interlock_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock"
)

func TestNewInvalid(t *testing.T) {
	sentinel := interlock.NewInvalid("pkg: bad thing")
	err := fmt.Errorf("doing it: %w", sentinel)
	if !errors.Is(err, sentinel) || !errors.Is(err, interlock.ErrInvalid) {
		t.Errorf("%v matches its sentinel %v and ErrInvalid %v; want both", err,
			errors.Is(err, sentinel), errors.Is(err, interlock.ErrInvalid))
	}
	if sentinel.Error() != "pkg: bad thing" {
		t.Errorf("text %q; want the package's own", sentinel.Error())
	}
	if errors.Is(err, interlock.NewInvalid("pkg: bad thing")) {
		t.Error("two sentinels with the same text match each other; each must be its own")
	}
}
