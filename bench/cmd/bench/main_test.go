package main

import (
	"errors"
	"slices"
	"testing"

	"numbers/bench"
)

func TestPhases(t *testing.T) {
	type phase struct{ pinned, shared, callers []string }
	cases := []struct {
		name string
		o    options
		want phase
	}{
		{"defaults", options{scenarios: "standard", shared: "standard", callerScenarios: "standard"}, phase{bench.Standard, bench.StandardShared, callerStandard}},
		{"pinned named alone", options{scenarios: "classic-distinct", shared: "standard", set: map[string]bool{"scenarios": true}},
			phase{[]string{"classic-distinct"}, nil, nil}},
		{"shared named alone", options{scenarios: "standard", shared: "soak,cpu-overload", set: map[string]bool{"shared-scenarios": true}},
			phase{nil, []string{"soak", "cpu-overload"}, nil}},
		{"both named", options{scenarios: "all", shared: "none", set: map[string]bool{"scenarios": true, "shared-scenarios": true}},
			phase{bench.All, nil, nil}},
		{"caller named alone", options{scenarios: "standard", shared: "standard", callerScenarios: "caller-distinct", set: map[string]bool{"caller-scenarios": true}},
			phase{nil, nil, []string{"caller-distinct"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pinned, shared, callers, err := phases(tc.o)
			if err != nil || !slices.Equal(pinned, tc.want.pinned) || !slices.Equal(shared, tc.want.shared) || !slices.Equal(callers, tc.want.callers) {
				t.Fatalf("got %v, %v, %v, %v; want %+v", pinned, shared, callers, err, tc.want)
			}
		})
	}
	if _, _, _, err := phases(options{scenarios: "standard", shared: "soak,nope"}); !errors.Is(err, bench.ErrScenario) {
		t.Errorf("unknown scenario: err %v, want ErrScenario", err)
	}
	if _, _, _, err := phases(options{scenarios: "none", shared: "none"}); err == nil {
		t.Error("no scenario at all: no error")
	}
	if _, _, _, err := phases(options{callerScenarios: "caller-nope"}); err == nil {
		t.Error("unknown caller scenario: no error")
	}
}
