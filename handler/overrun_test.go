package handler

import (
	"testing"
	"time"
)

// TestOverrunWindows drives the estimator with its own clock: a window's
// p99 is published when the next one opens, capped at the limit, held for
// overrunHold windows while the highest held counts, and forgotten after.
func TestOverrunWindows(t *testing.T) {
	const window, limit = time.Second, 100 * time.Millisecond
	o := newOverrun(window, limit)
	t0 := time.Unix(1000, 0) // the start of a window
	at := func(windows int, d time.Duration) time.Time { return t0.Add(time.Duration(windows)*window + d) }
	if got := o.Extra(t0); got != 0 {
		t.Fatalf("Extra before any overrun = %v, want 0", got)
	}

	// Window 0: 100 overruns, the 99th in bucket 0 (up to 0.5ms).
	for i := range 99 {
		o.observe(at(0, time.Duration(i)*time.Millisecond), 300*time.Microsecond)
	}
	o.observe(at(0, 500*time.Millisecond), 3*time.Millisecond) // bucket 3: up to 4ms
	if got := o.Extra(at(0, 600*time.Millisecond)); got != 0 {
		t.Fatalf("Extra during the first window = %v, want 0 (nothing published yet)", got)
	}

	// Window 1: overruns far past the limit; its first one closes window 0.
	for range 10 {
		o.observe(at(1, 0), time.Second)
	}
	if got := o.Extra(at(1, 0)); got != 500*time.Microsecond {
		t.Fatalf("Extra in window 1 = %v, want window 0's p99 bucket's bound 0.5ms", got)
	}
	// Window 2: a smaller p99 (bucket 2: up to 2ms); window 3 opens without an overrun of its own.
	o.observe(at(2, 0), 1500*time.Microsecond)
	o.observe(at(3, 0), 0)
	for _, tc := range []struct {
		at   time.Time
		want time.Duration
	}{
		{at(2, 0), limit}, // window 1 capped at the limit, the highest
		{at(3, 0), limit}, // still, though window 2 was lower
		{at(1+overrunHold, window-time.Nanosecond), limit}, // window 1's last held window
		{at(2+overrunHold, 0), 2 * time.Millisecond},       // window 1 forgotten: window 2 is the highest left
		{at(3+overrunHold, 0), 0},                          // window 3 saw only its opening overrun, of 0, and is still open
	} {
		if got := o.Extra(tc.at); got != tc.want {
			t.Errorf("Extra %v into the run = %v, want %v", tc.at.Sub(t0), got, tc.want)
		}
	}
}

func TestOverrunBuckets(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{-time.Millisecond, 0}, {0, 0}, {499 * time.Microsecond, 0},
		{500 * time.Microsecond, 1}, {999 * time.Microsecond, 1},
		{time.Millisecond, 2}, {3 * time.Millisecond, 3}, {255 * time.Millisecond, 9},
		{256 * time.Millisecond, 10}, {time.Hour, 10},
	} {
		if got := overrunBucket(tc.d); got != tc.want {
			t.Errorf("overrunBucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
		if tc.want < overrunBuckets-1 && tc.d >= overrunBound(tc.want, time.Hour) {
			t.Errorf("%v is not under its bucket's bound %v", tc.d, overrunBound(tc.want, time.Hour))
		}
	}
}
