// Package deadline plans when each answer is written: the one place that
// turns a request's arrival and budget into its deadline, and its deadline
// into the time its answer starts being written (the flush time), for plain
// and respond-async answers alike (docs/contract.md §1.3 and §1.5). A job
// has no flush time: nobody waits on a socket for it, and it ends at its
// own deadline (package jobs).
//
// The flush time is the deadline less three things:
//
//   - the margin's base: the timer's wake-up, the headers, the write system
//     call on a quiet machine;
//   - the margin's per-number cost: encoding and writing the numbers merged
//     so far, so that a big result is flushed earlier than a small one;
//   - the caller's delay: on a machine whose CPUs are shared, the caller
//     reads its answer late by as long as its own goroutines wait for a
//     CPU, which the service's clock cannot see. The machine's CPU pressure
//     (package pressure) predicts it: the planner keeps back MaxDelay times
//     the pressure, so that a quiet machine answers late in the budget
//     (complete) and a busy one early (on time).
package deadline

import (
	"cmp"
	"time"
)

// Config configures a Planner.
type Config struct {
	// Margin is the time kept back to encode and write; zero means
	// DefaultMargin.
	Margin Margin
	// Pressure returns the machine's CPU pressure, between 0 and 1
	// (pressure.Monitor.CPU); nil means always 0.
	Pressure func() float64
	// MaxDelay is what the planner keeps back for the caller's delay at a
	// pressure of 1, in proportion below it; zero means DefaultMaxDelay,
	// and a negative value keeps nothing back.
	MaxDelay time.Duration
}

// DefaultMaxDelay is Config.MaxDelay's default.
//
// Measured with the benchmark's plain caller (bench -caller-scenarios)
// on 2 shared cores: see docs/performance.md.
const DefaultMaxDelay = 80 * time.Millisecond

// MinWait is the least time a request must have left for its upstreams,
// once the margin is kept back, to be worth starting: with less, nothing
// could arrive in time but what is already cached.
const MinWait = time.Millisecond

// Planner plans the answers of requests. Create it with New; it is safe
// for concurrent use.
type Planner struct {
	margin   Margin
	pressure func() float64
	maxDelay time.Duration
}

// New returns a Planner for cfg.
func New(cfg Config) *Planner {
	// cmp.Or takes the first non-zero value: zero is the default, and a
	// negative MaxDelay (off) keeps nothing back.
	return &Planner{
		margin:   cmp.Or(cfg.Margin, DefaultMargin),
		pressure: cfg.Pressure,
		maxDelay: max(cmp.Or(cfg.MaxDelay, DefaultMaxDelay), 0),
	}
}

// Margin returns the margin the planner keeps back.
func (p *Planner) Margin() Margin { return p.margin }

// Delay returns what the planner keeps back now for the caller's delay.
func (p *Planner) Delay() time.Duration {
	if p.pressure == nil || p.maxDelay == 0 {
		return 0
	}
	return time.Duration(p.pressure() * float64(p.maxDelay))
}

// Plan returns the plan of a request that arrived at start with budget.
func (p *Planner) Plan(start time.Time, budget time.Duration) Plan {
	return Plan{
		Start:    start,
		Deadline: start.Add(budget),
		budget:   budget,
		margin:   Margin{Base: p.margin.Base + p.Delay(), PerNumber: p.margin.PerNumber},
	}
}

// Plan is when one request must be answered.
type Plan struct {
	// Start is the request's arrival; Deadline, Start plus its budget.
	Start, Deadline time.Time
	budget          time.Duration
	margin          Margin // the planner's, with the caller's delay in its base
}

// FlushAt returns when an answer of n numbers must start being written to
// make the deadline. It is never before the request started: when the
// margin exceeds the budget the answer is due at once.
func (p Plan) FlushAt(n int) time.Time {
	return p.Deadline.Add(-min(p.margin.For(n), p.budget))
}

// Hopeless reports whether, at now, too little is left to fetch anything
// before the flush time of an empty answer (MinWait).
func (p Plan) Hopeless(now time.Time) bool {
	return p.FlushAt(0).Sub(now) < MinWait
}

// Margin is the time kept back before the deadline to encode and write a
// result: Base plus PerNumber for each number in it. The flush time is
// recomputed as results arrive (Plan.FlushAt), so a big result is flushed
// earlier than a small one.
type Margin struct {
	// Base covers what does not grow with the result: the timer's wake-up
	// delay when the machine is busy, the headers, the write system call and
	// delivery to a caller on the same host.
	Base time.Duration
	// PerNumber is the cost of encoding and writing one number, in nanoseconds.
	PerNumber float64
}

// DefaultMargin is used when no calibrated Margin is given: 15ms plus 20ns a
// number, a little over what Calibrate measures on a 2-core machine (12-14ns
// a number, safety factor included), so that a million numbers are flushed
// 35ms early. Go's runtime may leave network events unpolled 10ms while
// every P is busy (sysmon polls at least every 10ms); on top of that, a
// caller sharing the machine reads its answer a few milliseconds after the
// service wrote it. With a 10ms base, the open-loop bench sharing 2 CPUs
// with the service (2,000 requests a second, a distinct query each) saw
// 2-6 answers in 10,000 late at the caller in 4 runs of 5; with 15ms, none
// in 5, for 0.007 less completeness (0.822 to 0.815).
var DefaultMargin = Margin{Base: 15 * time.Millisecond, PerNumber: 20}

// For returns the margin for a result of n numbers.
func (m Margin) For(n int) time.Duration {
	return m.Base + time.Duration(m.PerNumber*float64(n))
}
