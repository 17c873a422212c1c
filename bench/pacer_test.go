package bench

import (
	"testing"
	"time"
)

func TestConstantPacer(t *testing.T) {
	for _, tc := range []struct {
		name string
		freq float64
		i    uint64
		want time.Duration
	}{
		{"first", 100, 0, 0},
		{"second", 100, 1, 10 * time.Millisecond},
		{"hundredth", 100, 100, time.Second},
		{"fractional rate", 3, 1, time.Second / 3},
		{"fast", 20000, 20000, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (ConstantPacer{Freq: tc.freq}).Offset(tc.i); got != tc.want {
				t.Fatalf("Offset(%d) = %v, want %v", tc.i, got, tc.want)
			}
		})
	}
}

// checkHits verifies Hits against its definition: the count of i with
// Offset(i) < d, and that offsets never decrease.
func checkHits(t *testing.T, p Pacer, d time.Duration, want uint64) {
	t.Helper()
	got := p.Hits(d)
	if got != want {
		t.Fatalf("Hits(%v) = %d, want %d", d, got, want)
	}
	var prev time.Duration
	for i := uint64(0); i < got; i++ {
		off := p.Offset(i)
		if off >= d || off < prev {
			t.Fatalf("Offset(%d) = %v (previous %v), outside [prev, %v)", i, off, prev, d)
		}
		prev = off
	}
	if got > 0 || d > 0 {
		if off := p.Offset(got); off < d {
			t.Fatalf("Offset(%d) = %v, should be at or past %v", got, off, d)
		}
	}
}

func TestPacerHits(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pacer
		d    time.Duration
		want uint64
	}{
		{"constant 1s", ConstantPacer{Freq: 1000}, time.Second, 1000},
		{"constant partial", ConstantPacer{Freq: 1000}, 1500 * time.Microsecond, 2},
		{"constant zero duration", ConstantPacer{Freq: 1000}, 0, 0},
		{"constant third", ConstantPacer{Freq: 3}, 2 * time.Second, 6},
		{"ramp up", LinearPacer{From: 0, To: 200, Over: time.Second}, time.Second, 100},
		{"ramp then hold", LinearPacer{From: 0, To: 200, Over: time.Second}, 2 * time.Second, 300},
		{"ramp down", LinearPacer{From: 200, To: 0, Over: time.Second}, time.Second, 100},
		{"ramp from base", LinearPacer{From: 100, To: 300, Over: 2 * time.Second}, 2 * time.Second, 400},
		{"no ramp", LinearPacer{To: 50}, time.Second, 50},
	} {
		t.Run(tc.name, func(t *testing.T) { checkHits(t, tc.p, tc.d, tc.want) })
	}
}

func TestLinearPacerSpacing(t *testing.T) {
	// Ramping 0 -> 200/s over 1s: request i is due at sqrt(i/100) s, so the
	// gaps shrink as the rate climbs, and the rate at the end is 200/s.
	p := LinearPacer{From: 0, To: 200, Over: time.Second}
	for _, tc := range []struct {
		i    uint64
		want time.Duration
	}{{0, 0}, {1, 100 * time.Millisecond}, {25, 500 * time.Millisecond}, {100, time.Second}, {300, 2 * time.Second}} {
		got := p.Offset(tc.i)
		if diff := got - tc.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("Offset(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	if r := p.Rate(500 * time.Millisecond); r != 100 {
		t.Errorf("Rate at half way = %v, want 100", r)
	}
	if r := p.Rate(3 * time.Second); r != 200 {
		t.Errorf("Rate after the ramp = %v, want 200", r)
	}
}
