package signature

import (
	"errors"
	"strings"
	"testing"
)

func TestNewMeaning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"performed", true},
		{"approved for release", true},
		{"qa-release_2", true},
		{"r2d2", true},
		{strings.Repeat("a", MaxMeaningLength), true},
		{strings.Repeat("a", MaxMeaningLength+1), false},
		{"", false},
		{"Approved", false},
		{"2nd check", false},
		{"approved ", false},
		{"approved  twice", false},
		{"approved-", false},
		{"a--b", false},
		{"approved\n", false},
		{"appr\u00f6ved", false},
		{"approved\x00", false},
	}
	for _, tt := range tests {
		m, err := NewMeaning(tt.in)
		if tt.ok {
			if err != nil || m != Meaning(tt.in) {
				t.Errorf("NewMeaning(%q) = %q, %v; want it accepted", tt.in, m, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidMeaning) || m != "" {
			t.Errorf("NewMeaning(%q) = %q, %v; want ErrInvalidMeaning", tt.in, m, err)
		}
	}
}

func TestStandardMeaningsAreValid(t *testing.T) {
	t.Parallel()
	for _, m := range []Meaning{Performed, Verified, Reviewed, Approved} {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}
