package main

import (
	"errors"
	"slices"
	"testing"

	"numbers/bench"
)

func TestPhases(t *testing.T) {
	type phase struct{ pinned, shared []string }
	cases := []struct {
		name string
		o    options
		want phase
	}{
		{"defaults", options{scenarios: "standard", shared: "standard"}, phase{bench.Standard, bench.StandardShared}},
		{"pinned named alone", options{scenarios: "classic-distinct", shared: "standard", set: map[string]bool{"scenarios": true}},
			phase{[]string{"classic-distinct"}, nil}},
		{"shared named alone", options{scenarios: "standard", shared: "soak,cpu-overload", set: map[string]bool{"shared-scenarios": true}},
			phase{nil, []string{"soak", "cpu-overload"}}},
		{"both named", options{scenarios: "all", shared: "none", set: map[string]bool{"scenarios": true, "shared-scenarios": true}},
			phase{bench.All, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pinned, shared, err := phases(tc.o)
			if err != nil || !slices.Equal(pinned, tc.want.pinned) || !slices.Equal(shared, tc.want.shared) {
				t.Fatalf("got %v, %v, %v; want %+v", pinned, shared, err, tc.want)
			}
		})
	}
	if _, _, err := phases(options{scenarios: "standard", shared: "soak,nope"}); !errors.Is(err, bench.ErrScenario) {
		t.Errorf("unknown scenario: err %v, want ErrScenario", err)
	}
	if _, _, err := phases(options{scenarios: "none", shared: "none"}); err == nil {
		t.Error("no scenario at all: no error")
	}
}
