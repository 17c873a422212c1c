package handler

import (
	"testing"
	"time"
)

// TestOverrunWindows drives the estimator with its own clock: a window's
// p99 is published when the next one opens, capped at the limit, kept for
// one window, and forgotten after a window with no overrun.
func TestOverrunWindows(t *testing.T) {
	const window, limit = time.Second, 100 * time.Millisecond
	o := newOverrun(window, limit)
	t0 := time.Unix(1000, 0)
	if got := o.Extra(t0); got != 0 {
		t.Fatalf("Extra before any overrun = %v, want 0", got)
	}

	o.observe(t0, 0) // opens the first window
	for i := range 98 {
		o.observe(t0.Add(time.Duration(i)*time.Millisecond), 300*time.Microsecond) // bucket 0: up to 0.5ms
	}
	o.observe(t0.Add(500*time.Millisecond), 3*time.Millisecond) // bucket 3: up to 4ms
	if got := o.Extra(t0.Add(600 * time.Millisecond)); got != 0 {
		t.Fatalf("Extra during the first window = %v, want 0 (nothing published yet)", got)
	}

	t1 := t0.Add(window)
	o.observe(t1, 20*time.Millisecond) // closes the first window: 100 samples, the 99th is 0.5ms
	if got := o.Extra(t1); got != 500*time.Microsecond {
		t.Fatalf("Extra after the first window = %v, want its p99 bucket's bound 0.5ms", got)
	}

	for range 10 {
		o.observe(t1.Add(time.Millisecond), time.Second) // far past the limit
	}
	t2 := t1.Add(window)
	o.observe(t2, 0)
	if got := o.Extra(t2); got != limit {
		t.Fatalf("Extra after a window of 1s overruns = %v, want the limit %v", got, limit)
	}
	if got := o.Extra(t2.Add(window - time.Millisecond)); got != limit {
		t.Fatalf("Extra within the next window = %v, want it kept (%v)", got, limit)
	}
	if got := o.Extra(t2.Add(window + time.Millisecond)); got != 0 {
		t.Fatalf("Extra a window after the last overrun = %v, want 0", got)
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
