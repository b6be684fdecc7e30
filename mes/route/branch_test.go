package route

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRouteNext(t *testing.T) {
	t.Parallel()
	r := routeFixture()
	tests := []struct {
		name    string
		step    string
		values  map[string]string
		want    NextStep
		wantErr error
	}{
		{"no branches: the following step", "S10", map[string]string{"api-lot": "L7"}, NextStep{Step: "S20"}, nil},
		{"in tolerance: the unconditional branch", "S20", map[string]string{"net-weight": "12.50"}, NextStep{Step: "S30"}, nil},
		{"at the lower limit is inside", "S20", map[string]string{"net-weight": "12.45"}, NextStep{Step: "S30"}, nil},
		{"at the upper limit is inside", "S20", map[string]string{"net-weight": "12.550"}, NextStep{Step: "S30"}, nil},
		{"just below: re-weigh", "S20", map[string]string{"net-weight": "12.449"}, NextStep{Step: "S25"}, nil},
		{"just above: re-weigh", "S20", map[string]string{"net-weight": "12.5501"}, NextStep{Step: "S25"}, nil},
		{"loop back", "S25", nil, NextStep{Step: "S20"}, nil},
		{"across operations", "S30", map[string]string{"ph": "7", "appearance": "clear"}, NextStep{Step: "S40"}, nil},
		{"equals opens an exception", "S30", map[string]string{"ph": "7", "appearance": "cloudy"}, NextStep{Exception: "deviation"}, nil},
		{"equals is exact for text", "S30", map[string]string{"ph": "7", "appearance": "Cloudy"}, NextStep{Step: "S40"}, nil},
		{"out of range opens an exception", "S30", map[string]string{"ph": "8.1", "appearance": "clear"}, NextStep{Exception: "deviation"}, nil},
		{"the first branch that holds decides", "S30", map[string]string{"ph": "9", "appearance": "cloudy"}, NextStep{Exception: "deviation"}, nil},
		{"last step: done", "S40", nil, NextStep{Done: true}, nil},
		{"unknown step", "S99", nil, NextStep{}, ErrUnknownStep},
		{"missing value", "S20", map[string]string{}, NextStep{}, ErrBranchValue},
		{"not a number for a range", "S20", map[string]string{"net-weight": "heavy"}, NextStep{}, ErrBranchValue},
		{"a number too large to compare", "S20", map[string]string{"net-weight": "1e999999999"}, NextStep{}, ErrBranchValue},
		{"a later branch's value is missing", "S30", map[string]string{"appearance": "clear"}, NextStep{}, ErrBranchValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Next(tt.step, tt.values)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Next(%s, %v) error = %v, want %v", tt.step, tt.values, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Next(%s, %v) (-want +got):\n%s", tt.step, tt.values, diff)
			}
		})
	}
}

func TestRouteNextEqualsNumbers(t *testing.T) {
	t.Parallel()
	r := &Route{Product: "P", Version: 1, Operations: []Operation{{ID: "OP", Steps: []Step{
		{ID: "S1", Instructions: "Count the bags.", Requirements: []Requirement{RecordValue{Name: "bags"}},
			Branches: []Branch{{When: &Condition{Value: "bags", Equals: "20"}, GoTo: "S3"}}},
		{ID: "S2", Instructions: "Find the missing bags."},
		{ID: "S3", Instructions: "Seal the pallet."},
	}}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for value, want := range map[string]string{"20": "S3", "20.0": "S3", "2e1": "S3", "19": "S2", "twenty": "S2", "2e999999": "S2"} {
		got, err := r.Next("S1", map[string]string{"bags": value})
		if err != nil || got.Step != want {
			t.Errorf("bags %q: Next = %+v, %v; want step %s", value, got, err, want)
		}
	}
}

func TestBranchValueError(t *testing.T) {
	t.Parallel()
	_, err := routeFixture().Next("S30", map[string]string{"appearance": "clear"})
	var be *BranchValueError
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want a *BranchValueError", err)
	}
	want := &BranchValueError{Step: "S30", Branch: 1, Value: "ph", Reason: "the step recorded no such value"}
	if diff := cmp.Diff(want, be); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}
