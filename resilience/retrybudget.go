// Package budget is the retry budget that hedged requests and retries share,
// as Finagle's and Linkerd's retry budgets are: a token bucket into which
// every upstream request deposits Percent of a token, and from which every
// hedge or retry withdraws a whole one, plus a small reserve of MinPerSecond
// tokens a second so that a quiet service can still retry. However degraded
// the upstreams, the extra load stays near Percent of the requests made
// (plus the reserve), so a struggling upstream never sees its load doubled.
//
// Deposits expire: the balance decays with time constant TTL, so at a steady
// request rate R it settles at Percent x R x TTL tokens and a burst can spend
// at most that. Written here rather than taken from golang.org/x/time/rate,
// whose limiter refills with time alone: this bucket fills with the requests
// actually made, which rate.Limiter cannot express without changing its rate
// on every request.

package resilience

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// RetryBudgetConfig configures a RetryBudget. The zero RetryBudgetConfig is usable.
type RetryBudgetConfig struct {
	// Percent is the share of a token each request deposits; zero means
	// 0.1 (a hedge or retry for every ten requests).
	Percent float64
	// MinPerSecond is the reserve: tokens added every second whatever the
	// requests, held up to one second's worth; zero means 10, negative none.
	MinPerSecond float64
	// TTL is how long a deposit lasts (the time constant of its decay); zero
	// means 10s.
	TTL time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
}

// RetryBudgetStats are the RetryBudget's counters since it was created.
type RetryBudgetStats struct {
	Deposits  atomic.Uint64 // requests that paid in
	Withdrawn atomic.Uint64 // hedges and retries allowed
	Exhausted atomic.Uint64 // hedges and retries refused for want of a token
}

// RetryBudget is a retry budget. It is safe for concurrent use. Create it with New.
type RetryBudget struct {
	percent, perSecond float64
	ttl                float64 // seconds
	now                func() time.Time

	mu      sync.Mutex
	balance float64   // guarded by mu: deposited tokens, decaying
	reserve float64   // guarded by mu: reserve tokens, at most perSecond
	last    time.Time // guarded by mu: when balance and reserve were brought up to date

	// Stats counts what the RetryBudget did; read it, never write it.
	Stats RetryBudgetStats
}

// New returns a RetryBudget for cfg, its reserve full.
func NewRetryBudget(cfg RetryBudgetConfig) *RetryBudget {
	if cfg.Percent <= 0 {
		cfg.Percent = 0.1
	}
	switch {
	case cfg.MinPerSecond == 0:
		cfg.MinPerSecond = 10
	case cfg.MinPerSecond < 0:
		cfg.MinPerSecond = 0
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RetryBudget{
		percent: cfg.Percent, perSecond: cfg.MinPerSecond, ttl: cfg.TTL.Seconds(), now: cfg.Now,
		reserve: cfg.MinPerSecond, last: cfg.Now(),
	}
}

// Deposit records one upstream request.
func (b *RetryBudget) Deposit() {
	b.Stats.Deposits.Add(1)
	b.mu.Lock()
	b.age()
	b.balance += b.percent
	b.mu.Unlock()
}

// Withdraw takes a token for one hedge or retry, and reports whether there
// was one; without one the hedge or retry must not be sent.
func (b *RetryBudget) Withdraw() bool {
	b.mu.Lock()
	b.age()
	ok := true
	switch {
	case b.balance >= 1-epsilon:
		b.balance--
	case b.reserve >= 1-epsilon:
		b.reserve--
	default:
		ok = false
	}
	b.mu.Unlock()
	if ok {
		b.Stats.Withdrawn.Add(1)
	} else {
		b.Stats.Exhausted.Add(1)
	}
	return ok
}

// epsilon absorbs the rounding of deposits: ten deposits of 0.1 make a token.
const epsilon = 1e-9

// age brings balance and reserve up to now; b.mu is held.
func (b *RetryBudget) age() {
	now := b.now()
	dt := now.Sub(b.last).Seconds()
	if dt <= 0 {
		return
	}
	b.last = now
	b.balance *= math.Exp(-dt / b.ttl)
	b.reserve = min(b.perSecond, b.reserve+dt*b.perSecond)
}
