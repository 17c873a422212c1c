package guard

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestControl(t *testing.T) {
	d, _ := newDialer(t, Policy{}, nil)
	cases := []struct {
		address string
		denied  bool
	}{
		{"169.254.169.254:80", true},
		{"[::ffff:169.254.169.254]:80", true},
		{"[fd00:ec2::254%eth0]:443", true},
		{"0.0.0.0:80", true},
		{"not an address", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[fe80::1%eth0]:80", false},
	}
	for _, tc := range cases {
		t.Run(tc.address, func(t *testing.T) {
			err := d.control("tcp", tc.address, nil)
			if got := errors.Is(err, ErrDenied); got != tc.denied {
				t.Fatalf("control(%q) = %v, want denied=%v", tc.address, err, tc.denied)
			}
		})
	}
}

func TestPartialDeadline(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		left time.Duration
		n    int
		want time.Duration
	}{
		{10 * time.Second, 2, 5 * time.Second},
		{3 * time.Second, 3, 2 * time.Second},
		{time.Second, 3, time.Second},
		{100 * time.Millisecond, 1, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.left.String()+"/"+strconv.Itoa(tc.n), func(t *testing.T) {
			if got := partialDeadline(now, now.Add(tc.left), tc.n).Sub(now); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
