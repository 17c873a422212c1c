package handler

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// overrun learns how late the handler finishes an answer that was flushed on
// its timer, past the planned flush time: the timer's wake-up delay while
// every CPU is busy, plus encoding. The fixed margin base covers a quiet
// machine; on a machine shared with other busy processes the open-loop
// bench saw wake-ups 100 ms late, and answers planned on time came out late.
// Extra returns the 99th percentile of the overruns of the last window,
// capped, and the handler keeps that much more time back: as the machine
// gets busier, answers are flushed earlier. The overrun is measured against
// the planned flush time, not the deadline, so a wider margin does not feed
// back into the estimate.
//
// A mutex guards the window: only timer-flushed (partial) answers observe,
// so it is taken far less often than once per request.
type overrun struct {
	window time.Duration // how long a window lasts
	limit  time.Duration // the most Extra returns

	mu     sync.Mutex
	end    time.Time // end of the current window
	counts [overrunBuckets]uint32
	n      uint32

	extra     atomic.Int64 // the last full window's p99 in ns, capped
	validTill atomic.Int64 // unix ns after which extra is stale (a window with no overrun)
}

// overrunBuckets are the histogram's buckets: bucket i holds overruns under
// 2^i half-milliseconds (under 0.5 ms in bucket 0), the last everything
// from 256 ms on.
const overrunBuckets = 11

// newOverrun returns an estimator over windows of window, capped at limit.
func newOverrun(window, limit time.Duration) *overrun {
	return &overrun{window: window, limit: limit}
}

// observe records that an answer flushed on its timer was ready d after its
// planned flush time, at now.
func (o *overrun) observe(now time.Time, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !now.Before(o.end) {
		o.rotate(now)
	}
	o.counts[overrunBucket(d)]++
	o.n++
}

// rotate closes the current window, publishing its p99, and opens the next.
func (o *overrun) rotate(now time.Time) {
	if o.n > 0 {
		p99 := o.quantile(0.99)
		o.extra.Store(int64(min(p99, o.limit)))
		o.validTill.Store(now.Add(o.window).UnixNano())
	}
	o.counts, o.n = [overrunBuckets]uint32{}, 0
	o.end = now.Add(o.window)
}

// quantile returns the upper bound of the bucket that holds quantile q of
// the current window's overruns.
func (o *overrun) quantile(q float64) time.Duration {
	rank := uint32(q*float64(o.n-1)) + 1
	var seen uint32
	for i, c := range o.counts {
		if seen += c; seen >= rank {
			return overrunBound(i, o.limit)
		}
	}
	return o.limit
}

// Extra returns the time to keep back beyond the fixed margin at now: the
// last window's p99 overrun, or zero once a whole window has passed since.
func (o *overrun) Extra(now time.Time) time.Duration {
	if now.UnixNano() > o.validTill.Load() {
		return 0
	}
	return time.Duration(o.extra.Load())
}

// overrunBucket returns the bucket of an overrun of d.
func overrunBucket(d time.Duration) int {
	ms := uint64(max(d, 0) / (time.Millisecond / 2)) // in half milliseconds
	return min(bits.Len64(ms), overrunBuckets-1)
}

// overrunBound returns the upper bound of bucket i: 2^i half-milliseconds,
// or limit for the last.
func overrunBound(i int, limit time.Duration) time.Duration {
	if i == overrunBuckets-1 {
		return limit
	}
	return time.Duration(1<<i) * time.Millisecond / 2
}
