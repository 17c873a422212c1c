package handler

import (
	"testing"
	"time"
)

// TestOverrunWindows drives the estimator with its own clock: a window's
// p99.9 is published when the next one opens, capped at the limit, held for
// overrunHold windows while the highest held counts, and forgotten after.
func TestOverrunWindows(t *testing.T) {
	const window, limit = time.Second, 100 * time.Millisecond
	o := newOverrun(window, limit)
	t0 := time.Unix(1000, 0) // the start of a window
	at := func(windows int, d time.Duration) time.Time { return t0.Add(time.Duration(windows)*window + d) }
	if got := o.Extra(t0); got != 0 {
		t.Fatalf("Extra before any overrun = %v, want 0", got)
	}

	// Window 0: 2,000 overruns; the two highest (the top 0.1 %) are 9.5 ms,
	// so the p99.9 is in bucket 9 (up to 10 ms); one more at 40 ms is past it.
	for i := range 1997 {
		o.observe(at(0, time.Duration(i)*100*time.Microsecond), 300*time.Microsecond) // bucket 0: up to 1 ms
	}
	o.observe(at(0, 300*time.Millisecond), 9500*time.Microsecond)
	o.observe(at(0, 400*time.Millisecond), 9500*time.Microsecond)
	o.observe(at(0, 500*time.Millisecond), 40*time.Millisecond)
	if got := o.Extra(at(0, 600*time.Millisecond)); got != 0 {
		t.Fatalf("Extra during the first window = %v, want 0 (nothing published yet)", got)
	}

	// Window 1: overruns far past the limit; its first one closes window 0.
	for range 10 {
		o.observe(at(1, 0), time.Second)
	}
	if got := o.Extra(at(1, 0)); got != 10*time.Millisecond {
		t.Fatalf("Extra in window 1 = %v, want window 0's p99.9 bucket's bound 10ms", got)
	}
	// Window 2: a lower p99.9 (bucket 2: up to 3 ms); window 3 opens without an overrun of its own.
	o.observe(at(2, 0), 2500*time.Microsecond)
	o.observe(at(3, 0), 0)
	for _, tc := range []struct {
		at   time.Time
		want time.Duration
	}{
		{at(2, 0), limit}, // window 1 capped at the limit, the highest
		{at(3, 0), limit}, // still, though window 2 was lower
		{at(1+overrunHold, window-time.Nanosecond), limit}, // window 1's last held window
		{at(2+overrunHold, 0), 3 * time.Millisecond},       // window 1 forgotten: window 2 is the highest left
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
		{-time.Millisecond, 0}, {0, 0}, {999 * time.Microsecond, 0},
		{time.Millisecond, 1}, {9500 * time.Microsecond, 9},
		{126 * time.Millisecond, 126}, {127 * time.Millisecond, 127}, {time.Hour, 127},
	} {
		if got := overrunBucket(tc.d); got != tc.want {
			t.Errorf("overrunBucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
		if tc.want < overrunBuckets-1 && tc.d >= overrunBound(tc.want, time.Hour) {
			t.Errorf("%v is not under its bucket's bound %v", tc.d, overrunBound(tc.want, time.Hour))
		}
	}
	if got := overrunBound(overrunBuckets-1, 300*time.Millisecond); got != 300*time.Millisecond {
		t.Errorf("the last bucket's bound = %v, want the limit", got)
	}
}
