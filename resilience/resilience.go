// Package resilience is the link of the source chain between coalescing
// and the fetcher (see package source): it asks outlier detection (Detector)
// whether a host may be fetched, hedges a request still pending after its
// host's 95th-percentile latency, retries a fast failure once, pays for
// hedges and retries from one retry budget (RetryBudget), and tells the
// detector how every fetch went.
package resilience

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"numbers/fetcher"
	"numbers/outcome"
)

// Fetcher fetches one URL live; *fetcher.Client implements it.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (fetcher.Response, error)
}

// Config configures a Link.
type Config struct {
	// Fetcher fetches live; required.
	Fetcher Fetcher
	// Detector, when set, is asked before every fetch and told how each
	// ended: a URL whose host it has ejected is not fetched, and its latency
	// estimates time the hedges. Nil tracks nothing and hedges nothing.
	Detector *Detector
	// Budget pays for hedges and retries; nil sends neither.
	Budget *RetryBudget
	// Hedge sends one more request for a fetch still pending after its
	// host's 95th-percentile latency (or twice its median, if longer), while
	// time is left and Budget allows.
	Hedge bool
	// Retry repeats a fast failure (fetcher.Retryable) once, while time is
	// left and Budget allows.
	Retry bool
	// Tracer makes a client span per upstream request of a traced fetch;
	// nil makes none.
	Tracer trace.Tracer
}

// Stats are the Link's counters since it was created.
type Stats struct {
	Hedges    atomic.Uint64 // hedge requests sent
	HedgesWon atomic.Uint64 // fetches whose hedge answered first
	Retries   atomic.Uint64 // fast failures retried
	Probes    atomic.Uint64 // trial requests sent to half-open hosts
}

// Link fetches upstream URLs resiliently. It is safe for concurrent use.
type Link struct {
	fetch    Fetcher
	detector *Detector
	budget   *RetryBudget
	hedge    bool
	retry    bool
	tracer   trace.Tracer

	// Stats counts what the Link did; read it, never write it.
	Stats Stats
}

// New returns a Link for cfg.
func New(cfg Config) *Link {
	if cfg.Fetcher == nil {
		panic("resilience: Config.Fetcher is required")
	}
	return &Link{fetch: cfg.Fetcher, detector: cfg.Detector, budget: cfg.Budget,
		hedge: cfg.Hedge, retry: cfg.Retry, tracer: cfg.Tracer}
}

// minLeft is the least time before the request's deadline that a hedge or a
// retry needs, whatever the host's latency estimate says.
const minLeft = time.Millisecond

// Admit reports whether url's host may be fetched now, for a request whose
// context is ctx: always without a Detector. For the trial of a half-open
// host it sends the trial in the background before answering, so that the
// caller is never slowed by an ejected host: it is answered at once
// (false), whether or not its URL was the one that probed. A trial that
// succeeds is handed to stored with its URL, to fill the cache for the requests that
// follow.
func (l *Link) Admit(ctx context.Context, url string, stored func(url string, r fetcher.Response)) bool {
	if l.detector == nil {
		return true
	}
	v := l.detector.Admit(Key(url))
	if v == Trial {
		l.probe(ctx, url, stored)
	}
	return v == Allow
}

// probe sends the trial request of a half-open host: one fetch of url,
// detached from its request (which does not wait for it) but ending at that
// request's deadline, so that a host that is still down costs one request of
// at most the budget per ProbeInterval. Its result tells the detector, and
// a success goes to stored.
func (l *Link) probe(ctx context.Context, url string, stored func(string, fetcher.Response)) {
	deadline, _ := ctx.Deadline()
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	l.Stats.Probes.Add(1)
	go func() {
		defer cancel()
		a := l.once(pctx, url, trialAttempt)
		l.report(Key(url), a.took, a.err)
		if a.err == nil {
			stored(url, a.r)
		}
	}()
}

// Fetch fetches url for a flight whose context is ctx (detached from
// caller, the request that started it, when it goes on in the background),
// before deadline, the request's: it pays into the budget, hedges and
// retries (attempts), and tells the detector how the fetch went, once. A fetch still pending when caller stops
// waiting, at its flush time, is a timeout for the host's health, even if it
// goes on in the background and succeeds later: the host did not answer in
// time.
func (l *Link) Fetch(ctx, caller context.Context, url string, deadline time.Time) (fetcher.Response, error) {
	if l.budget != nil {
		l.budget.Deposit()
	}
	if l.detector == nil {
		r, _, err := l.attempts(ctx, url, deadline, "")
		return r, err
	}
	key := Key(url)
	var reported atomic.Bool
	if ctx != caller {
		stop := context.AfterFunc(caller, func() {
			if reported.CompareAndSwap(false, true) {
				l.detector.Failure(key)
			}
		})
		defer stop()
	}
	r, took, err := l.attempts(ctx, url, deadline, key)
	if reported.CompareAndSwap(false, true) {
		l.report(key, took, err)
	}
	return r, err
}

// report tells the detector how one fetch of key's host ended.
func (l *Link) report(key string, took time.Duration, err error) {
	switch {
	case err == nil:
		l.detector.Success(key, took)
	case fetcher.HostFault(err):
		l.detector.Failure(key)
	case fetcher.OutcomeOf(err) == outcome.Denied:
		// Refused by policy: the host was never asked.
	default:
		l.detector.Success(key, 0) // the host answered; the URL's answer is at fault
	}
}

// attempt is the result of one request of a fetch.
type attempt struct {
	r     fetcher.Response
	err   error
	took  time.Duration
	hedge bool
}

// once makes one request, of kind.
func (l *Link) once(ctx context.Context, url string, kind attemptKind) attempt {
	ctx, span := l.traceAttempt(ctx, url, kind)
	start := time.Now()
	r, err := l.fetch.Fetch(ctx, url)
	a := attempt{r, err, time.Since(start), kind == hedgeAttempt}
	if span != nil {
		endAttempt(span, r, err)
	}
	return a
}

// attempts fetches url within ctx and returns the first good answer and how
// long its request took, or the last failure. With the host's latency
// estimate known and hedging on, the request races a hedge (race);
// otherwise a fast failure is retried once, as mayRetry allows.
//
// The hedge waits for the host's p95, or twice its median if that is
// longer: when answers are tightly spread (2-5 ms) the p95 is a fraction of
// a millisecond above most answers, and a hedge sent there is mostly wasted
// on answers about to arrive; twice the median still catches a stalled
// request within a few milliseconds.
func (l *Link) attempts(ctx context.Context, url string, deadline time.Time, key string) (fetcher.Response, time.Duration, error) {
	var p50, p95 time.Duration
	var known bool
	if key != "" {
		p50, p95, known = l.detector.Latency(key)
	}
	// Race only when a hedge sent after delay could still answer in time (the
	// test race makes when its timer fires): otherwise the race's goroutine
	// and timer are pure cost. With the classic upstreams (0-550 ms) every
	// fetch raced and no hedge was ever sent: 24 % more CPU at 2000 req/s.
	if delay := max(p95, 2*p50); l.hedge && l.budget != nil && known && time.Until(deadline) > delay+max(p50, minLeft) {
		return l.race(ctx, url, deadline, p50, delay)
	}
	a := l.once(ctx, url, firstAttempt)
	if a.err != nil && l.mayRetry(a.err, deadline, p50) {
		a = l.once(ctx, url, retryAttempt)
	}
	return a.r, a.took, a.err
}

// timeLeft says whether a hedge or retry sent now could still answer before
// the request's deadline: the time left is more than the host's median
// latency (or minLeft, when the latency is unknown).
func timeLeft(deadline time.Time, p50 time.Duration) bool {
	return time.Until(deadline) > max(p50, minLeft)
}

// mayRetry says whether a failed request may be tried again, and if so counts
// the retry and takes its token: a fast failure, with time left, paid for.
func (l *Link) mayRetry(err error, deadline time.Time, p50 time.Duration) bool {
	if !l.retry || l.budget == nil || !fetcher.Retryable(err) || !timeLeft(deadline, p50) || !l.budget.Withdraw() {
		return false
	}
	l.Stats.Retries.Add(1)
	return true
}

// race sends the request and, if it is still pending after delay, one hedge on
// another connection (fasthttp's pool gives a second concurrent request to a
// host a connection of its own). The first good answer wins and the other
// request is cancelled through its context, which closes its connection
// (see the fetcher's transport). A failure while the other is pending waits
// for the other; a fast failure with nothing pending may be retried, unless
// a hedge was sent: a fetch makes at most two requests.
func (l *Link) race(ctx context.Context, url string, deadline time.Time, p50, delay time.Duration) (fetcher.Response, time.Duration, error) {
	results := make(chan attempt, 2) // never blocks a request that lost
	var cancels [2]context.CancelFunc
	sent := 0
	send := func(kind attemptKind) {
		actx, cancel := context.WithCancel(ctx)
		cancels[sent] = cancel
		sent++
		go func() { results <- l.once(actx, url, kind) }()
	}
	defer func() {
		for _, cancel := range cancels[:sent] {
			cancel()
		}
	}()
	send(firstAttempt)
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var last attempt
	for pending := 1; pending > 0; {
		select {
		case a := <-results:
			pending--
			if a.err == nil {
				if a.hedge {
					l.Stats.HedgesWon.Add(1)
				}
				return a.r, a.took, nil
			}
			last = a
			if pending == 0 && sent < len(cancels) && l.mayRetry(a.err, deadline, p50) {
				send(retryAttempt)
				pending++
			}
		case <-timer.C:
			if pending == 1 && sent < len(cancels) && timeLeft(deadline, p50) && l.budget.Withdraw() {
				l.Stats.Hedges.Add(1)
				send(hedgeAttempt)
				pending++
			}
		}
	}
	return last.r, last.took, last.err
}
