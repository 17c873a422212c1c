// Package source obtains the numbers of one upstream URL for the handler. It
// puts three things in front of the live fetcher:
//
//   - a cache (RFC 9111, package cache): a fresh entry answers at once, and a
//     stale one stands in when the live fetch fails or is late;
//   - coalescing: concurrent requests for one URL share one upstream fetch
//     (singleflight), each caller still waiting only until its own deadline;
//   - background completion: a fetch still running when its caller gives up
//     may go on for LateBudget more, so that its result lands in the cache
//     for the next request. A semaphore bounds how many may do so.
package source

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"numbers/cache"
	"numbers/fetcher"
)

// Fetcher fetches one URL live; *fetcher.Client implements it.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (fetcher.Response, error)
}

// Config configures a Source.
type Config struct {
	// Fetcher fetches live; required.
	Fetcher Fetcher
	// Cache stores results; nil means no caching.
	Cache *cache.Cache
	// Coalesce shares one upstream fetch among concurrent callers of a URL.
	Coalesce bool
	// LateBudget is how long past its first caller's deadline a fetch may run
	// to finish in the background; zero means fetches end at that deadline.
	LateBudget time.Duration
	// MaxLate bounds the fetches that may run past their caller's deadline at
	// once; zero means 1024. A fetch takes its place when it starts: one that
	// finds none free ends at its caller's deadline.
	MaxLate int64
	// Fetched is told the duration of every live fetch; nil means nobody.
	Fetched func(time.Duration)
}

// Stats are the Source's counters since it was created.
type Stats struct {
	Fetches       atomic.Uint64 // upstream fetches started
	Coalesced     atomic.Uint64 // callers that shared another caller's fetch
	LateStored    atomic.Uint64 // fetches finished after their caller's deadline and stored
	LateCancelled atomic.Uint64 // fetches that had no late place and timed out at their caller's deadline
}

// Source obtains upstream numbers. It is safe for concurrent use.
type Source struct {
	fetch    Fetcher
	cache    *cache.Cache
	coalesce bool
	late     time.Duration
	lateSem  *semaphore.Weighted
	flights  singleflight.Group
	fetched  func(time.Duration)

	// Stats counts what the Source did; read it, never write it.
	Stats Stats
}

// New returns a Source for cfg.
func New(cfg Config) *Source {
	if cfg.Fetcher == nil {
		panic("source: Config.Fetcher is required")
	}
	maxLate := cfg.MaxLate
	if maxLate <= 0 {
		maxLate = 1024
	}
	return &Source{
		fetch:    cfg.Fetcher,
		cache:    cfg.Cache,
		coalesce: cfg.Coalesce,
		late:     cfg.LateBudget,
		lateSem:  semaphore.NewWeighted(maxLate),
		fetched:  cfg.Fetched,
	}
}

// outcome is what a fetch produced, as shared among coalesced callers.
type outcome struct {
	numbers []int64
	err     error
}

// Fetch returns the sorted unique numbers of url and how the upstream fared,
// by the deadline of ctx. The returned slice may be shared with other callers
// and the cache: it must not be modified.
func (s *Source) Fetch(ctx context.Context, url string) ([]int64, fetcher.Outcome) {
	if s.cache != nil {
		if nums, ok := s.cache.Fresh(url); ok {
			return nums, fetcher.Cached
		}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return s.staleOr(url, fetcher.Timeout)
	}
	if !s.coalesce && s.late == 0 {
		// Nothing outlives the caller: fetch in its goroutine.
		o := s.fetchLive(ctx, url, deadline)
		return s.settle(url, o)
	}

	var ch <-chan singleflight.Result
	leader := false // set by the flight's function only if it is ours; read after its result
	if s.coalesce {
		ch = s.flights.DoChan(url, func() (any, error) {
			leader = true
			return s.fetchLive(context.Background(), url, deadline), nil
		})
	} else {
		c := make(chan singleflight.Result, 1)
		go func() { c <- singleflight.Result{Val: s.fetchLive(context.Background(), url, deadline)} }()
		ch = c
	}
	select {
	case r := <-ch:
		if r.Shared && !leader { // Shared is true for the leader too
			s.Stats.Coalesced.Add(1)
		}
		return s.settle(url, r.Val.(outcome))
	case <-ctx.Done():
		// The fetch goes on alone, until its own deadline; DoChan's and our
		// channel are buffered, so it never blocks on the departed caller.
		return s.staleOr(url, fetcher.Timeout)
	}
}

// fetchLive fetches url until deadline, or until deadline plus the late
// budget if a late place is free, or until parent is done, and stores a
// success in the cache.
func (s *Source) fetchLive(parent context.Context, url string, deadline time.Time) outcome {
	s.Stats.Fetches.Add(1)
	start := time.Now()
	fetchDeadline := deadline
	late := s.late > 0 && s.lateSem.TryAcquire(1)
	if late {
		defer s.lateSem.Release(1)
		fetchDeadline = deadline.Add(s.late)
	}
	ctx, cancel := context.WithDeadline(parent, fetchDeadline)
	defer cancel()
	r, err := s.fetch.Fetch(ctx, url)
	if s.fetched != nil {
		s.fetched(time.Since(start))
	}
	switch {
	case err != nil && s.late > 0 && !late && fetcher.OutcomeOf(err) == fetcher.Timeout:
		s.Stats.LateCancelled.Add(1)
	case err == nil && s.cache != nil:
		stored := s.cache.Store(url, r.Numbers, cache.Header{
			CacheControl: r.CacheControl, Expires: r.Expires, Date: r.Date, Age: r.Age,
		}, r.Sent, r.Received)
		if stored && r.Received.After(deadline) {
			s.Stats.LateStored.Add(1)
		}
	}
	return outcome{r.Numbers, err}
}

// settle turns a finished fetch into the caller's answer, falling back to a
// stale cache entry when the fetch failed.
func (s *Source) settle(url string, o outcome) ([]int64, fetcher.Outcome) {
	switch failure := fetcher.OutcomeOf(o.err); failure {
	case fetcher.OK:
	case fetcher.Denied:
		return nil, failure // policy, not a passing fault: never served stale
	default:
		return s.staleOr(url, failure)
	}
	return o.numbers, fetcher.OK
}

// staleOr returns a stale cache entry for url if one may be served, else
// failure as the outcome.
func (s *Source) staleOr(url string, failure fetcher.Outcome) ([]int64, fetcher.Outcome) {
	if s.cache != nil {
		if nums, ok := s.cache.Stale(url); ok {
			return nums, fetcher.Stale
		}
	}
	return nil, failure
}
