package handler

import (
	"sync"
	"sync/atomic"
	"time"
)

// overrun learns how late the handler finishes an answer that was flushed on
// its timer, past the planned flush time: the timer's wake-up delay while
// every CPU is busy, plus encoding. The fixed margin base covers a quiet
// machine; on a machine shared with other busy processes the open-loop
// bench saw wake-ups 100 ms late, and answers planned on time came out late.
// Each window's 99.9th percentile is kept for overrunHold windows, and Extra
// returns the highest of them, capped: as the machine gets busier, answers
// are flushed earlier. The hold and the high percentile are there because
// the stalls that make answers late are rare and recur: in the hostile
// soak, each GC cycle (one every 3 s) left a few goroutines waiting 20-35 ms
// for a CPU, and a margin made of the last second's p99 let the next
// cycle's answers out late (1-4 in 90,000). The overrun is measured against
// the planned flush time, not the deadline, so a wider margin does not feed
// back into the estimate.
//
// A mutex guards the current window: only timer-flushed (partial) answers
// observe, far less often than once per request. Extra, called on every
// request, reads the held percentiles without it.
type overrun struct {
	window time.Duration // how long a window lasts; windows start at multiples of it
	limit  time.Duration // the most Extra returns

	mu     sync.Mutex
	cur    int64 // the current window's number: unix time / window
	counts [overrunBuckets]uint32
	n      uint32

	// held are the p99.9s of the last closed windows that saw an overrun,
	// in the slot of their number modulo hold, each packed with the low 32
	// bits of its window's number above its p99.9 in microseconds, so that
	// a reader sees both or neither.
	held [overrunHold]atomic.Uint64
}

// overrunHold is how many windows a window's p99.9 counts for after it closes.
const overrunHold = 10

// overrunBuckets are the histogram's buckets: bucket i holds overruns from
// i to i+1 milliseconds, the last everything from 127 ms on. Coarser
// (power-of-two) buckets turned a 9 ms overrun into 16 ms of margin.
const overrunBuckets = 128

// newOverrun returns an estimator over windows of window, capped at limit.
func newOverrun(window, limit time.Duration) *overrun {
	return &overrun{window: window, limit: limit}
}

// observe records that an answer flushed on its timer was ready d after its
// planned flush time, at now.
func (o *overrun) observe(now time.Time, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if w := o.number(now); w != o.cur {
		o.rotate(w)
	}
	o.counts[overrunBucket(d)]++
	o.n++
}

// number returns the number of the window that holds t.
func (o *overrun) number(t time.Time) int64 { return t.UnixNano() / int64(o.window) }

// rotate closes the current window, holding its p99.9 if it saw an
// overrun, and opens window w.
func (o *overrun) rotate(w int64) {
	if o.n > 0 {
		q := uint64(o.quantile(0.999) / time.Microsecond)
		o.held[o.cur%overrunHold].Store(uint64(uint32(o.cur))<<32 | q)
	}
	o.counts, o.n = [overrunBuckets]uint32{}, 0
	o.cur = w
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
// highest p99.9 of the windows closed in the last overrunHold windows, or
// zero when none of them saw an overrun.
func (o *overrun) Extra(now time.Time) time.Duration {
	w := uint32(o.number(now))
	var extra uint64
	for i := range o.held {
		v := o.held[i].Load()
		if age := w - uint32(v>>32); age >= 1 && age <= overrunHold {
			extra = max(extra, v&(1<<32-1))
		}
	}
	return min(time.Duration(extra)*time.Microsecond, o.limit)
}

// overrunBucket returns the bucket of an overrun of d.
func overrunBucket(d time.Duration) int {
	return int(min(max(d, 0)/time.Millisecond, overrunBuckets-1))
}

// overrunBound returns the upper bound of bucket i: i+1 milliseconds, or
// limit for the last.
func overrunBound(i int, limit time.Duration) time.Duration {
	if i == overrunBuckets-1 {
		return limit
	}
	return time.Duration(i+1) * time.Millisecond
}
