// policy.go puts passive health, hedged requests and retries around the live
// fetch of one flight.

package source

import (
	"context"
	"sync/atomic"
	"time"

	"numbers/fetcher"
	"numbers/health"
	"numbers/outcome"
)

// minLeft is the least time before the request's deadline that a hedge or a
// retry needs, whatever the host's latency estimate says.
const minLeft = time.Millisecond

// admit asks the registry whether url's host may be fetched. For the trial of
// a half-open host it sends the trial in the background before answering, so
// that the caller is never slowed by an ejected host: it is answered at once,
// whether or not its URL was the one that probed.
func (s *Source) admit(ctx context.Context, url string) health.Verdict {
	v := s.health.Admit(health.Key(url))
	if v == health.Trial {
		s.probe(ctx, url)
	}
	return v
}

// probe sends the trial request of a half-open host: one fetch of url,
// detached from its request (which does not wait for it) but ending at that
// request's deadline, so that a host that is still down costs one request of
// at most the budget per ProbeInterval. Its result tells the registry, and a
// success fills the cache for the requests that follow.
func (s *Source) probe(ctx context.Context, url string) {
	deadline, _ := ctx.Deadline()
	pctx, cancel := s.detach(ctx, deadline)
	s.Stats.Probes.Add(1)
	go func() {
		defer cancel()
		a := s.once(pctx, url, trialAttempt)
		s.report(health.Key(url), a.took, a.err)
		if a.err == nil {
			s.store(url, a.r)
		}
	}()
}

// live fetches url for a flight whose context is ctx (detached from caller,
// the request that started it, when it has a late place), as the policy
// says: it pays into the budget, hedges and retries (attempts), and tells the
// registry how the fetch went, once. A fetch still pending when caller stops
// waiting, at its flush time, is a timeout for the host's health, even if it
// goes on in the background and succeeds later: the host did not answer in
// time.
func (s *Source) live(ctx, caller context.Context, url string, deadline time.Time) (fetcher.Response, error) {
	if s.budget != nil {
		s.budget.Deposit()
	}
	if s.health == nil {
		r, _, err := s.attempts(ctx, url, deadline, "")
		return r, err
	}
	key := health.Key(url)
	var reported atomic.Bool
	if ctx != caller {
		stop := context.AfterFunc(caller, func() {
			if reported.CompareAndSwap(false, true) {
				s.health.Failure(key)
			}
		})
		defer stop()
	}
	r, took, err := s.attempts(ctx, url, deadline, key)
	if reported.CompareAndSwap(false, true) {
		s.report(key, took, err)
	}
	return r, err
}

// report tells the registry how one fetch of key's host ended.
func (s *Source) report(key string, took time.Duration, err error) {
	switch {
	case err == nil:
		s.health.Success(key, took)
	case fetcher.HostFault(err):
		s.health.Failure(key)
	case fetcher.OutcomeOf(err) == outcome.Denied:
		// Refused by policy: the host was never asked.
	default:
		s.health.Success(key, 0) // the host answered; the URL's answer is at fault
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
func (s *Source) once(ctx context.Context, url string, kind attemptKind) attempt {
	ctx, span := s.traceAttempt(ctx, url, kind)
	start := time.Now()
	r, err := s.fetch.Fetch(ctx, url)
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
func (s *Source) attempts(ctx context.Context, url string, deadline time.Time, key string) (fetcher.Response, time.Duration, error) {
	var p50, p95 time.Duration
	var known bool
	if key != "" {
		p50, p95, known = s.health.Latency(key)
	}
	// Race only when a hedge sent after delay could still answer in time (the
	// test race makes when its timer fires): otherwise the race's goroutine
	// and timer are pure cost. With the classic upstreams (0-550 ms) every
	// fetch raced and no hedge was ever sent: 24 % more CPU at 2000 req/s.
	if delay := max(p95, 2*p50); s.hedge && s.budget != nil && known && time.Until(deadline) > delay+max(p50, minLeft) {
		return s.race(ctx, url, deadline, p50, delay)
	}
	a := s.once(ctx, url, firstAttempt)
	if a.err != nil && s.mayRetry(a.err, deadline, p50) {
		a = s.once(ctx, url, retryAttempt)
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
func (s *Source) mayRetry(err error, deadline time.Time, p50 time.Duration) bool {
	if !s.retry || s.budget == nil || !fetcher.Retryable(err) || !timeLeft(deadline, p50) || !s.budget.Withdraw() {
		return false
	}
	s.Stats.Retries.Add(1)
	return true
}

// race sends the request and, if it is still pending after delay, one hedge on
// another connection (fasthttp's pool gives a second concurrent request to a
// host a connection of its own). The first good answer wins and the other
// request is cancelled through its context, which closes its connection
// (see the fetcher's transport). A failure while the other is pending waits
// for the other; a fast failure with nothing pending may be retried, unless
// a hedge was sent: a fetch makes at most two requests.
func (s *Source) race(ctx context.Context, url string, deadline time.Time, p50, delay time.Duration) (fetcher.Response, time.Duration, error) {
	results := make(chan attempt, 2) // never blocks a request that lost
	var cancels [2]context.CancelFunc
	sent := 0
	send := func(kind attemptKind) {
		actx, cancel := context.WithCancel(ctx)
		cancels[sent] = cancel
		sent++
		go func() { results <- s.once(actx, url, kind) }()
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
					s.Stats.HedgesWon.Add(1)
				}
				return a.r, a.took, nil
			}
			last = a
			if pending == 0 && sent < len(cancels) && s.mayRetry(a.err, deadline, p50) {
				send(retryAttempt)
				pending++
			}
		case <-timer.C:
			if pending == 1 && sent < len(cancels) && timeLeft(deadline, p50) && s.budget.Withdraw() {
				s.Stats.Hedges.Add(1)
				send(hedgeAttempt)
				pending++
			}
		}
	}
	return last.r, last.took, last.err
}
