// Package admission decides, as each request is about to start, whether it
// should start at all: CoDel (controlled delay) on the request's sojourn, the
// time from its arrival to the moment the handler picks it up.
//
// It follows the variant Facebook runs in front of its services (Ben Maurer,
// "Fail at Scale", ACM Queue 13(8), 2015, https://queue.acm.org/detail.cfm?id=2839461;
// the code is folly/executors/Codel.cpp, formerly wangle/concurrent/Codel.cpp):
// CoDel proper, from networking, drops at a rate that grows while the queue
// stays long; the service variant instead watches the smallest sojourn of
// each interval, and while that smallest one is above the target (every
// request of the interval waited, so a queue is standing, not passing
// through) it refuses every request that waited longer than twice the target
// (folly's getSloughTimeout). A queue that only bursts still drains on its
// own, and nothing is refused.
//
// Facebook pairs it with adaptive LIFO: when backed up, serve the newest
// request first, since the oldest is the likeliest to be past its caller's
// deadline. The numbers service cannot reorder its queue (fasthttp serves
// each connection in its own goroutine, and the queue that forms is the
// kernel's and the Go scheduler's), so the cutoff gives it the same effect by
// other means: while backed up, fresh requests are served and stale ones are
// refused at once, which is what LIFO would have done with them.
//
// A sojourn is only as good as the arrival it is measured from. fasthttp
// dates a request (RequestCtx.Time) just before it calls the handler, so
// measured from there the sojourn is all but zero, whatever the queue: the
// requests wait before that, unread in the kernel's socket buffers, while the
// process is too busy to read them. Listen dates them from the kernel
// instead, on Linux: when their last bytes reached the host.
package admission

import (
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a CoDel.
type Config struct {
	// Target is the sojourn that every request of an interval must exceed
	// for the service to count as backed up; zero means 5ms.
	Target time.Duration
	// Interval is how long the smallest sojourn is watched before the
	// decision is revised; zero means 100ms. It must be longer than Target.
	Interval time.Duration
}

// CoDel decides whether to admit requests from their sojourn. Create it with
// New; its methods are safe for concurrent use.
type CoDel struct {
	target   time.Duration
	interval time.Duration
	cutoff   time.Duration // while backed up, requests that waited longer are refused

	// One mutex guards the state machine: a few comparisons per request.
	mu       sync.Mutex
	started  bool          // an interval is running
	end      time.Time     // when the running interval ends
	min      time.Duration // the smallest sojourn seen in the running interval
	backedUp bool          // the last finished interval's smallest sojourn was above target

	last atomic.Int64 // the last finished interval's smallest sojourn, in nanoseconds
}

// New returns a CoDel for cfg. It panics if Interval is not longer than
// Target: the flags that set them are validated first.
func New(cfg Config) *CoDel {
	if cfg.Target <= 0 {
		cfg.Target = 5 * time.Millisecond
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Interval <= cfg.Target {
		panic("admission: Interval must be longer than Target")
	}
	return &CoDel{target: cfg.Target, interval: cfg.Interval, cutoff: 2 * cfg.Target}
}

// Admit records the sojourn of a request the handler picks up at now and
// reports whether to start it. Every request must be reported, admitted or
// not, and with now nondecreasing give or take the gaps between goroutines:
// the refused ones are part of the queue being measured.
//
// The state machine: an interval starts with the first request after the
// previous one ended and lasts Interval. When a request arrives after its
// end, the interval's smallest sojourn decides the state for the next one:
// backed up if it is above Target, not backed up otherwise; and that request
// starts the next interval. While backed up, a request whose sojourn is above
// twice the target is refused. The request that opens an interval is judged
// like the others (folly admits it unconditionally; here the refused requests
// are measured too, so no admitted one is needed to see the queue drain).
func (c *CoDel) Admit(now time.Time, sojourn time.Duration) bool {
	c.mu.Lock()
	switch {
	case !c.started:
		c.started, c.end, c.min = true, now.Add(c.interval), sojourn
	case !now.Before(c.end):
		c.backedUp = c.min > c.target
		c.last.Store(int64(c.min))
		c.end, c.min = now.Add(c.interval), sojourn
	case sojourn < c.min:
		c.min = sojourn
	}
	refuse := c.backedUp && sojourn > c.cutoff
	c.mu.Unlock()
	return !refuse
}

// Sojourn returns the smallest sojourn of the last finished interval: the
// standing queue's delay when it is above the target, zero before the first
// interval has finished.
func (c *CoDel) Sojourn() time.Duration { return time.Duration(c.last.Load()) }
