package source

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/outcome"
)

// Upstream is the next link of the chain: it fetches one URL live, with
// outlier detection, hedges and retries; *resilience.Link implements it.
type Upstream interface {
	// Admit reports whether url's host may be fetched now; a trial fetch it
	// sends meanwhile hands a success to stored.
	Admit(ctx context.Context, url string, stored func(url string, r fetcher.Response)) bool
	// Fetch fetches url within ctx, which is detached from caller when the
	// fetch goes on in the background; deadline is the request's.
	Fetch(ctx, caller context.Context, url string, deadline time.Time) (fetcher.Response, error)
}

// Config configures a Source.
type Config struct {
	// Upstream fetches live; required.
	Upstream Upstream
	// Cache stores results; nil means no caching.
	Cache *cache.Cache
	// Coalesce shares one upstream fetch among concurrent requests for a URL.
	Coalesce bool
	// Background is how long past its first request's deadline a fetch may
	// run to finish in the background; zero (the default) means none: fetches
	// end at that deadline.
	Background time.Duration
	// MaxBackground bounds the fetches that may run past their request's
	// deadline at once; zero means 1024. A fetch takes its place when its request stops
	// waiting for it: one that finds none free ends then.
	MaxBackground int64
	// Fetched is told the duration of every live fetch; nil means nobody.
	Fetched func(time.Duration)
	// Tracer makes the spans of the fetches of traced requests (whose
	// context holds a recording span, see trace.go); nil makes none.
	Tracer trace.Tracer
}

// Stats are the Source's counters since it was created.
type Stats struct {
	Fetches       atomic.Uint64 // upstream fetches started
	Coalesced     atomic.Uint64 // requests that joined another request's fetch
	LateStored    atomic.Uint64 // fetches finished after their request's deadline and stored
	LateCancelled atomic.Uint64 // fetches cut when their request stopped waiting, no late place being free
}

// Source obtains upstream numbers. It is safe for concurrent use.
type Source struct {
	up       Upstream
	stored   func(string, fetcher.Response) // store, made once
	cache    *cache.Cache
	coalesce bool
	late     time.Duration
	lateSem  *semaphore.Weighted
	fetched  func(time.Duration)
	tracer   trace.Tracer

	mu      sync.Mutex
	flights map[string]*flight // guarded by mu: fetches under way, by URL, when coalescing

	// Stats counts what the Source did; read it, never write it.
	Stats Stats
}

// flight is one live fetch and the requests waiting for it.
type flight struct {
	waiters []waiter          // guarded by Source.mu until the flight is removed from the map
	span    trace.SpanContext // of the fetch span that started it, if traced; set before it is shared
}

// waiter is a request waiting for a flight.
type waiter struct {
	ctx     context.Context // the request's: its deadline, and whether it still waits
	deliver func([]int64, outcome.Outcome)
}

// New returns a Source for cfg.
func New(cfg Config) *Source {
	if cfg.Upstream == nil {
		panic("source: Config.Upstream is required")
	}
	maxLate := cfg.MaxBackground
	if maxLate <= 0 {
		maxLate = 1024
	}
	s := &Source{
		up:       cfg.Upstream,
		cache:    cfg.Cache,
		coalesce: cfg.Coalesce,
		late:     cfg.Background,
		lateSem:  semaphore.NewWeighted(maxLate),
		fetched:  cfg.Fetched,
		tracer:   cfg.Tracer,
		flights:  map[string]*flight{},
	}
	s.stored = func(url string, r fetcher.Response) { s.store(url, r) }
	return s
}

// liveResult is what a live fetch produced.
type liveResult struct {
	numbers []int64
	err     error
}

// Fetch obtains the numbers of url for a request whose context is ctx, and
// calls deliver once with them, sorted and unique, and how the upstream
// fared: at once from a fresh cache entry, when ctx has no deadline or when
// the URL's host is ejected, otherwise when the live fetch (its own or one it
// joined) ends. The fetch
// ends by the deadline of ctx or when ctx is cancelled, unless it gets a late
// place (see Config.Background). deliver is called from any goroutine,
// possibly after the deadline, and must not block; the numbers may be shared
// with other requests and the cache and must not be modified. A request that
// stops waiting asks Abandon what stands in.
func (s *Source) Fetch(ctx context.Context, url string, deliver func([]int64, outcome.Outcome)) {
	ctx, deliver = s.traceFetch(ctx, url, deliver)
	if s.cache != nil {
		if nums, ok := s.cache.Fresh(url); ok {
			deliver(nums, outcome.Cached)
			return
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		deliver(s.Abandon(url))
		return
	}
	if !s.up.Admit(ctx, url, s.stored) {
		deliver(s.staleOr(url, outcome.Ejected))
		return
	}
	s.join(url, waiter{ctx, deliver})
}

// join adds w to the flight under way for url, or starts one.
func (s *Source) join(url string, w waiter) {
	if !s.coalesce {
		go func() { w.deliver(s.obtain(w.ctx, url)) }()
		return
	}
	s.mu.Lock()
	if f, ok := s.flights[url]; ok {
		f.waiters = append(f.waiters, w)
		s.mu.Unlock()
		s.Stats.Coalesced.Add(1)
		s.traceJoin(w.ctx, f.span)
		return
	}
	f := &flight{waiters: []waiter{w}, span: s.flightSpan(w.ctx)}
	s.flights[url] = f
	s.mu.Unlock()
	go s.fly(url, f, w.ctx)
}

// fly runs flight f, which ends with ctx (that of the request that started
// it, detached if it gets a late place), and hands its result to every
// waiter. A waiter that joined later may still be waiting when the flight
// timed out or was cancelled with the request that started it: that waiter
// joins a new flight, which it starts, instead of taking the timeout, so
// sharing an earlier request's fetch never makes a request give up early.
// (It ends: the request that started a flight always takes its result.)
func (s *Source) fly(url string, f *flight, ctx context.Context) {
	r, hit := s.sharedOrLive(ctx, url)
	s.mu.Lock()
	delete(s.flights, url) // later requests start a new fetch
	waiters := f.waiters
	s.mu.Unlock()
	timedOut := fetcher.OutcomeOf(r.err) == outcome.Timeout
	nums, out := s.settle(url, r)
	if hit {
		out = outcome.Cached
	}
	for i, w := range waiters {
		if timedOut && i > 0 && w.ctx.Err() == nil {
			s.join(url, w)
			continue
		}
		w.deliver(nums, out)
	}
}

// sharedOrLive answers a flight from a fresh entry of the second level of
// the cache (hit), or fetches live.
func (s *Source) sharedOrLive(ctx context.Context, url string) (liveResult, bool) {
	if s.cache == nil {
		return s.fetchLive(ctx, url), false
	}
	if nums, ok := s.cache.Shared(ctx, url); ok {
		return liveResult{numbers: nums}, true
	}
	return s.fetchLive(ctx, url), false
}

// obtain is a whole fetch without coalescing: the second level or live, then
// settled.
func (s *Source) obtain(ctx context.Context, url string) ([]int64, outcome.Outcome) {
	r, hit := s.sharedOrLive(ctx, url)
	nums, out := s.settle(url, r)
	if hit {
		out = outcome.Cached
	}
	return nums, out
}

// Abandon returns what stands in for url when its request stops waiting for
// it: a cache entry that may be served stale (outcome Stale), else no numbers
// and outcome Timeout. The fetch goes on to its own end regardless.
func (s *Source) Abandon(url string) ([]int64, outcome.Outcome) {
	return s.staleOr(url, outcome.Timeout)
}

// fetchLive fetches url until ctx ends or, with background completion, detached from
// ctx until its deadline plus that budget: if ctx ends with the fetch still
// under way (its request stopped waiting), the fetch takes a late place and
// goes on in the background, or, with none free, ends then (lateCut). A
// success is stored in the cache.
func (s *Source) fetchLive(ctx context.Context, url string) liveResult {
	s.Stats.Fetches.Add(1)
	start := time.Now()
	deadline, _ := ctx.Deadline()
	caller := ctx
	var place *latePlace
	if s.late > 0 {
		var cancel context.CancelFunc
		ctx, cancel = s.detach(ctx, deadline.Add(s.late))
		defer cancel()
		place = s.placeWhenDone(caller, cancel)
	}
	r, err := s.up.Fetch(ctx, caller, url, deadline)
	lateCut := place != nil && place.end()
	if s.fetched != nil {
		s.fetched(time.Since(start))
	}
	switch {
	case err != nil && lateCut && fetcher.OutcomeOf(err) == outcome.Timeout:
		s.Stats.LateCancelled.Add(1)
	case err == nil:
		if s.store(url, r) && r.Received.After(deadline) {
			s.Stats.LateStored.Add(1)
		}
	}
	return liveResult{r.Numbers, err}
}

// latePlace is a fetch's claim on one of the late places, decided when its
// request stops waiting for it.
//
// The place is taken then, not when the fetch starts, so that the places
// bound the fetches that really run late. Taken at the start, they were all
// held under load by fetches still inside their budget (at 3,000 requests a
// second of four fetches each, more than 3,000 are under way), and every
// fetch pending at its flush time beyond those was cut, its connection
// closed, and a new one dialled for the next (README, Performance).
type latePlace struct {
	sem     *semaphore.Weighted
	stop    func() bool
	decided sync.WaitGroup // done once the callback has decided
	placed  bool           // set by the callback, read once it has decided
}

// placeWhenDone returns the late place of the fetch that cancel ends: when
// caller ends, the fetch takes a free place or, with none free, is
// cancelled.
func (s *Source) placeWhenDone(caller context.Context, cancel context.CancelFunc) *latePlace {
	p := &latePlace{sem: s.lateSem}
	p.decided.Add(1) // left pending if the callback never runs
	p.stop = context.AfterFunc(caller, func() {
		defer p.decided.Done()
		if p.placed = p.sem.TryAcquire(1); !p.placed {
			cancel()
		}
	})
	return p
}

// end is called once, when the fetch is over: it keeps the decision from
// being made if it was not yet, else waits for it and gives back the place
// taken. It reports whether the fetch was cut for lack of a place.
func (p *latePlace) end() bool {
	if p.stop() {
		return false
	}
	p.decided.Wait()
	if p.placed {
		p.sem.Release(1)
	}
	return !p.placed
}

// detach is the one place where a fetch leaves its request's context, for
// background completion and for the trial of a half-open host: the fetch
// keeps the request's values but not its cancellation, and ends at end.
func (s *Source) detach(ctx context.Context, end time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.WithoutCancel(ctx), end)
}

// settle turns a finished fetch into the caller's answer, falling back to a
// stale cache entry when the fetch failed.
func (s *Source) settle(url string, o liveResult) ([]int64, outcome.Outcome) {
	switch failure := fetcher.OutcomeOf(o.err); failure {
	case outcome.OK:
	case outcome.Denied:
		return nil, failure // policy, not a passing fault: never served stale
	default:
		return s.staleOr(url, failure)
	}
	return o.numbers, outcome.OK
}

// staleOr returns a stale cache entry for url if one may be served, else
// failure as the outcome. It is the one place that decides the stale
// fallback, for failed fetches, abandoned ones and ejected hosts alike.
func (s *Source) staleOr(url string, failure outcome.Outcome) ([]int64, outcome.Outcome) {
	if s.cache != nil {
		if nums, ok := s.cache.Stale(url); ok {
			return nums, outcome.Stale
		}
	}
	return nil, failure
}

// store puts a fetched result in the cache (both its levels), and reports
// whether it stored it in the first.
func (s *Source) store(url string, r fetcher.Response) bool {
	if s.cache == nil {
		return false
	}
	return s.cache.Store(url, r.Numbers, cache.Header{
		CacheControl: r.CacheControl, Expires: r.Expires, Date: r.Date, Age: r.Age,
	}, r.Sent, r.Received)
}
