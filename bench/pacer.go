package bench

import (
	"context"
	"math"
	"time"
)

// A Pacer is the schedule of an open-loop attack: it says when each request is
// due, measured from the start, independently of how the target responds.
type Pacer interface {
	// Offset returns when request i (0-based) is due.
	Offset(i uint64) time.Duration
	// Hits returns how many requests are due strictly before d.
	Hits(d time.Duration) uint64
	// Rate returns the request rate (per second) at elapsed time d.
	Rate(d time.Duration) float64
}

// ConstantPacer sends Freq requests per second, evenly spaced.
type ConstantPacer struct {
	// Freq is the rate in requests per second; zero or less means no requests.
	Freq float64
}

// Offset implements Pacer.
func (p ConstantPacer) Offset(i uint64) time.Duration {
	if p.Freq <= 0 {
		return math.MaxInt64
	}
	return time.Duration(float64(i) * float64(time.Second) / p.Freq)
}

// Hits implements Pacer.
func (p ConstantPacer) Hits(d time.Duration) uint64 {
	return hits(p, d, p.Freq*d.Seconds())
}

// Rate implements Pacer.
func (p ConstantPacer) Rate(time.Duration) float64 { return p.Freq }

// LinearPacer ramps the rate linearly from From to To over Over, then holds To.
type LinearPacer struct {
	// From is the rate (per second) at the start.
	From float64
	// To is the rate reached at Over and held after it.
	To float64
	// Over is the ramp's length; zero means the rate is To from the start.
	Over time.Duration
}

// Rate implements Pacer.
func (p LinearPacer) Rate(d time.Duration) float64 {
	if p.Over <= 0 || d >= p.Over {
		return p.To
	}
	return p.From + (p.To-p.From)*d.Seconds()/p.Over.Seconds()
}

// due returns the (fractional) number of requests due by d: the integral of
// the rate from 0 to d.
func (p LinearPacer) due(d time.Duration) float64 {
	t := d.Seconds()
	if p.Over <= 0 {
		return p.To * t
	}
	T := p.Over.Seconds()
	if t <= T {
		return p.From*t + (p.To-p.From)*t*t/(2*T)
	}
	return (p.From+p.To)*T/2 + p.To*(t-T)
}

// Offset implements Pacer: it inverts due, solving the ramp's quadratic.
func (p LinearPacer) Offset(i uint64) time.Duration {
	n := float64(i)
	if p.Over <= 0 {
		return ConstantPacer{Freq: p.To}.Offset(i)
	}
	T := p.Over.Seconds()
	if ramp := (p.From + p.To) * T / 2; n > ramp {
		if p.To <= 0 {
			return math.MaxInt64
		}
		return p.Over + time.Duration((n-ramp)/p.To*float64(time.Second))
	}
	a := (p.To - p.From) / (2 * T)
	var t float64
	if math.Abs(a) < 1e-12 {
		if p.From <= 0 {
			return math.MaxInt64
		}
		t = n / p.From
	} else {
		// a*t^2 + From*t - n = 0; the root that is reached first in time.
		t = (-p.From + math.Sqrt(p.From*p.From+4*a*n)) / (2 * a)
	}
	return time.Duration(t * float64(time.Second))
}

// Hits implements Pacer.
func (p LinearPacer) Hits(d time.Duration) uint64 { return hits(p, d, p.due(d)) }

// hits turns an estimate of the requests due before d into the exact count of
// i with Offset(i) < d, correcting the estimate's rounding either way.
func hits(p Pacer, d time.Duration, estimate float64) uint64 {
	if d <= 0 || estimate <= 0 {
		return 0
	}
	n := uint64(math.Ceil(estimate))
	for n > 0 && p.Offset(n-1) >= d {
		n--
	}
	for p.Offset(n) < d {
		n++
	}
	return n
}

// Waiter waits for the due times of an open-loop schedule with one timer.
type Waiter struct{ timer *time.Timer }

// NewWaiter returns a Waiter; Stop releases its timer.
func NewWaiter() *Waiter { return &Waiter{timer: time.NewTimer(time.Hour)} }

// Until waits until due, or until ctx ends, and reports whether due came.
func (w *Waiter) Until(ctx context.Context, due time.Time) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	w.timer.Reset(wait)
	select {
	case <-ctx.Done():
		return false
	case <-w.timer.C:
		return true
	}
}

// Stop releases the Waiter's timer.
func (w *Waiter) Stop() { w.timer.Stop() }
