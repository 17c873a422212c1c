// Package overload decides, as each /numbers request arrives and before any
// work is done for it, whether to serve it or refuse it with 503: the one
// place that decides, so that the 503's body, the metrics and the logs all
// carry the one Reason it gives (docs/contract.md §1.6).
//
// It follows the shape of Envoy's overload manager: monitors report a
// pressure, a trigger turns it into a state, and the action (refusing)
// reads only that state. The monitors are
//
//   - the machine's busy share (package pressure): the share of its CPU time
//     spent running anything but niced tasks. Past the capacity it reaches
//     1, whoever is short of CPU: the service, or a caller on the same
//     machine whose goroutines queue inside its own runtime, where the
//     kernel's stall count cannot see them;
//   - the callers' lag: how long, on average, the answers already sent wait
//     unread in the receive queues of callers on the same machine (their
//     count, from the kernel, over the rate of requests: Little's law). A
//     caller whose goroutines queue for its CPUs reads late whatever the
//     service does; what the service can do is stop adding to its backlog;
//   - the request's queue delay at arrival: how long its bytes waited,
//     unread, in the kernel's socket buffers (its sojourn);
//   - the work in flight: the /numbers requests being served.
//
// The triggers: while the callers' lag is over LagLimit, the share admitted
// is cut at once by the ratio of the limit to the lag (at most 0.99 is
// refused); while the busy share is over BusyLimit, the share refused grows
// every Interval by half of what is left up to 0.95. So an overload of any
// size is met within an interval or two. Once the busy share is under nine
// tenths of its limit and the lag under half its own, the share refused
// shrinks by a third every Interval, to zero; but within five seconds of the
// lag's last time over its limit, the share admitted grows by a tenth every
// Interval instead: slowly, because the backlog a larger share lets in shows
// in the callers' queues only later (falling by a third, the share swung
// between 0.99 and 0.5 under eight times the capacity; see
// docs/performance.md). Both monitors refuse with the reason CPU: the
// machine's CPUs are what is short. A request that waited longer than
// QueueLimit is refused, and so is one that would exceed MaxInFlight. Below
// the capacity none of them moves and nothing is refused; a refusal costs a
// few microseconds and no upstream request, which is what lets the
// admitted requests, and their callers, keep their CPUs.
package overload

import (
	"cmp"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Reason is why a request is refused; Admitted, that it is not.
type Reason uint8

// The reasons, in the order the Controller checks them.
const (
	Admitted Reason = iota
	// InFlight: MaxInFlight requests are being served.
	InFlight
	// Queue: the request waited longer than QueueLimit unread.
	Queue
	// CPU: the machine's CPUs are busier than the limit and the request
	// fell in the share refused.
	CPU
	// Deadline: too little of the request's budget is left to fetch
	// anything (the handler decides it, from its deadline.Plan).
	Deadline
	// ReasonCount is the number of Reason values, Admitted included.
	ReasonCount
)

// Reasons lists every reason a request is refused, in Reason order.
var Reasons = []Reason{InFlight, Queue, CPU, Deadline}

var reasonNames = [ReasonCount]string{"", "in_flight", "queue", "cpu", "deadline"}

// String returns the reason's name in metrics and logs: in_flight, queue,
// cpu or deadline, and "" for Admitted.
func (r Reason) String() string {
	if r >= ReasonCount {
		return "unknown"
	}
	return reasonNames[r]
}

var reasonMessages = [ReasonCount]string{
	"",
	"overloaded: too many requests in flight, retry later",
	"overloaded: requests wait too long to be read, retry later",
	"overloaded: the machine's CPUs are saturated, retry later",
	"overloaded: too little of the budget is left to answer in time, retry later",
}

// Message returns the words of the 503 body for r.
func (r Reason) Message() string {
	if r >= ReasonCount {
		return "overloaded, retry later"
	}
	return reasonMessages[r]
}

// Config configures a Controller. Zero values mean the documented
// defaults; a negative value turns a trigger off.
type Config struct {
	// Busy returns the machine's busy share, between 0 and 1
	// (pressure.Monitor.Busy); nil turns the CPU trigger off.
	Busy func() float64
	// BusyNow returns the last interval's busy share alone
	// (pressure.Monitor.BusyNow), which gates the callers' lag; nil means
	// Busy.
	BusyNow func() float64
	// Unread returns how many answers the service's callers on this
	// machine have been sent and not yet read (pressure.UnreadAnswers on
	// the public port); nil, or ok false, leaves the caller's lag unknown.
	Unread func() (n int, ok bool)
	// LagLimit is the callers' mean lag in reading their answers above
	// which, while the CPUs are busy, a growing share of requests is
	// refused; zero means DefaultLagLimit, negative no limit.
	LagLimit time.Duration
	// BusyLimit is the busy share above which a growing share of requests
	// is refused; zero means DefaultBusyLimit.
	BusyLimit float64
	// QueueLimit is the longest a request may have waited unread and still
	// be served; zero means DefaultQueueLimit, negative no limit.
	QueueLimit time.Duration
	// MaxInFlight is the most /numbers requests served at once; zero means
	// DefaultMaxInFlight, negative no limit.
	MaxInFlight int
	// Interval is how often the refused share is revised; zero means 50ms.
	Interval time.Duration
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Rand returns a uniform number in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

// Defaults of Config.
const (
	DefaultBusyLimit   = 0.95
	DefaultQueueLimit  = 50 * time.Millisecond
	DefaultMaxInFlight = 8192
	DefaultLagLimit    = 50 * time.Millisecond
)

// The CPU trigger's steps.
const (
	shareRise = 0.5       // of what is left up to maxShare, every Interval over the limit
	shareDrop = 2.0 / 3.0 // kept every Interval under shareHold of the limit
	admitGrow = 1.1       // of the share admitted instead, within lagMemory of the callers' lag
	lagMemory = 5 * time.Second
	shareHold = 0.9  // between this share of the limit and the limit, the share holds
	maxShare  = 0.95 // some requests always get through, and show the overload's end
	// maxLagShare caps the share refused for the callers' lag: they read
	// even the refusals late, and need a few answers to show their lag's end.
	maxLagShare = 0.99
	// lagGate is the share of the busy limit from which the callers' lag
	// is measured.
	lagGate = 0.5
)

// Controller decides admission. Create it with New; its methods are safe
// for concurrent use.
type Controller struct {
	busy        func() float64
	unread      func() (int, bool)
	busyNow     func() float64
	limit       float64
	lagLimit    time.Duration
	queueLimit  time.Duration
	maxInFlight int64
	interval    time.Duration
	now         func() time.Time
	rand        func() float64

	next     atomic.Int64  // when the share is next revised, in Unix nanoseconds
	share    atomic.Uint64 // math.Float64bits of the share refused for CPU
	lag      atomic.Int64  // the callers' smoothed lag, in nanoseconds
	arrivals atomic.Int64  // requests decided since the last revision
	mu       sync.Mutex    // one reviser at a time
	revised  time.Time     // the last revision, under mu
	lagged   time.Time     // the last revision that found the callers' lag over the limit, under mu
}

// New returns a Controller for cfg.
func New(cfg Config) *Controller {
	// cmp.Or takes the first non-zero value: zero (or less) is the default.
	c := &Controller{
		busy:        cfg.Busy,
		unread:      cfg.Unread,
		busyNow:     cfg.BusyNow,
		limit:       cmp.Or(max(cfg.BusyLimit, 0), DefaultBusyLimit),
		lagLimit:    cmp.Or(cfg.LagLimit, DefaultLagLimit),
		queueLimit:  cmp.Or(cfg.QueueLimit, DefaultQueueLimit),
		maxInFlight: cmp.Or(int64(cfg.MaxInFlight), DefaultMaxInFlight),
		interval:    cmp.Or(max(cfg.Interval, 0), 50*time.Millisecond),
		now:         cfg.Now,
		rand:        cfg.Rand,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.busyNow == nil {
		c.busyNow = cfg.Busy
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	return c
}

// Admit decides about a request that waited sojourn unread before it was
// picked up (zero when unknown), with inFlight requests being served
// counting it.
func (c *Controller) Admit(sojourn time.Duration, inFlight int64) Reason {
	switch {
	case c.maxInFlight > 0 && inFlight > c.maxInFlight:
		return InFlight
	case c.queueLimit > 0 && sojourn > c.queueLimit:
		return Queue
	}
	if c.busy == nil {
		return Admitted
	}
	c.arrivals.Add(1)
	if c.now().UnixNano() >= c.next.Load() && c.mu.TryLock() {
		c.revise()
		c.mu.Unlock()
	}
	if share := c.Share(); share > 0 && c.rand() < share {
		return CPU
	}
	return Admitted
}

// revise moves the refused share by the busy share and the callers' lag
// now. It holds c.mu.
func (c *Controller) revise() {
	now := c.now()
	c.next.Store(now.Add(c.interval).UnixNano())
	p, share := c.busy(), c.Share()
	lag := c.reviseLag(now)
	calm := p < shareHold*c.limit && (c.lagLimit <= 0 || lag < c.lagLimit/2)
	switch {
	case c.lagLimit > 0 && lag > c.lagLimit:
		// The callers read late: admit as much less as they lag more than
		// the limit, so that one revision matches what they can read.
		share = max(share, min(1-(1-share)*float64(c.lagLimit)/float64(lag), maxLagShare))
		c.lagged = now
	case p > c.limit:
		share = max(share, share+(maxShare-share)*shareRise)
	case calm && now.Sub(c.lagged) < lagMemory:
		// The callers lagged lately: the admitted share grows by a tenth,
		// slowly from a large share refused, as the backlog it lets in
		// shows in their queues only later.
		share = 1 - (1-share)*admitGrow
	case calm:
		share *= shareDrop
	}
	if share < 0.01 {
		share = 0
	}
	c.share.Store(math.Float64bits(share))
}

// reviseLag folds the callers' lag since the last revision into its
// average and returns it: the answers they have not read yet over the rate
// of requests decided (Little's law). It is measured only while the last
// interval's busy share is at least half the limit: counting walks the
// kernel's table of connections, and on a machine with CPU to spare callers
// read their answers as they come. It holds c.mu.
func (c *Controller) reviseLag(now time.Time) time.Duration {
	elapsed := now.Sub(c.revised)
	c.revised = now
	arrivals := c.arrivals.Swap(0)
	lag := time.Duration(0)
	if c.unread != nil && c.lagLimit > 0 && arrivals > 0 && elapsed > 0 && elapsed < time.Second && c.busyNow() >= lagGate*c.limit {
		if n, ok := c.unread(); ok {
			lag = time.Duration(float64(n) * float64(elapsed) / float64(arrivals))
		}
	}
	// A rise counts at once; a fall by half, so that one interval of
	// bursty arrivals does not end the refusals alone.
	avg := max(lag, (time.Duration(c.lag.Load())+lag)/2)
	c.lag.Store(int64(avg))
	return avg
}

// Lag returns the callers' mean lag in reading their answers, as last
// measured (zero while the CPUs are not busy or where it is not known).
func (c *Controller) Lag() time.Duration { return time.Duration(c.lag.Load()) }

// Share returns the share of requests being refused because the CPUs are
// saturated.
func (c *Controller) Share() float64 { return math.Float64frombits(c.share.Load()) }

// WantsSojourn reports whether a request's sojourn is worth measuring now
// (reading the kernel's arrival stamps costs a tenth of a cached answer's
// work): while the queue trigger is on and the busy share is at least three
// quarters of its limit. On a machine with CPU to spare, requests are read
// as they arrive and nothing waits unread.
func (c *Controller) WantsSojourn() bool {
	return c.queueLimit > 0 && (c.busy == nil || c.busy() >= 0.75*c.limit)
}
