package outcome

import "testing"

func TestStringAndContributed(t *testing.T) {
	cases := []struct {
		o           Outcome
		name        string
		contributed bool
	}{
		{OK, "ok", true},
		{Cached, "cached", true},
		{Stale, "stale", true},
		{Failed, "failed", false},
		{Denied, "denied", false},
		{Timeout, "timeout", false},
		{Invalid, "invalid", false},
		{Ejected, "ejected", false},
		{Count, "unknown", false},
	}
	for _, tc := range cases {
		if got := tc.o.String(); got != tc.name {
			t.Errorf("Outcome(%d).String() = %q, want %q", tc.o, got, tc.name)
		}
		if got := tc.o.Contributed(); got != tc.contributed {
			t.Errorf("%v.Contributed() = %v, want %v", tc.o, got, tc.contributed)
		}
	}
}
