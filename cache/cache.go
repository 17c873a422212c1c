// Package cache is a shared HTTP cache (RFC 9111) of upstream results: the
// sorted, de-duplicated numbers one upstream URL returned, keyed by that URL,
// kept as long as the response's caching headers allow.
//
// Freshness computes, once per response, whether it may be stored, until
// when it is fresh and until when it may be served stale; Cache keeps the
// numbers with those absolute instants, so lookups only compare times. The
// request flow is the caller's:
//
//  1. Fresh(url) hit: answer from the cache without fetching.
//  2. Otherwise, with a second level shared with other replicas (Level),
//     Shared(ctx, url) may find it there, fresh.
//  3. Otherwise fetch live; on success, Store the result, in both levels.
//  4. If the live fetch failed or was late, Stale(url) may still provide an
//     entry the response's directives allow to serve stale.
//
// The cache is bounded by bytes (8 per number of capacity plus a fixed
// overhead per entry) with least-recently-used eviction. Stored slices are
// shared, read-only: neither Store's caller nor Fresh's or Stale's may
// modify them. A Cache is safe for concurrent use.
package cache

import (
	"cmp"
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBytes = 64 << 20
	DefaultMaxStale = time.Hour
)

// entryOverhead approximates the memory of one entry beyond its numbers and
// key: the LRU list element, the map slot and the entry struct.
const entryOverhead = 100

// Config configures a Cache. The zero value is a usable configuration.
type Config struct {
	// MaxBytes bounds the accounted size of all entries; zero means
	// DefaultMaxBytes (64 MiB), negative disables the cache (nothing is
	// ever stored).
	MaxBytes int64
	// MaxStale is how long past its freshness an entry may still be served
	// when the live fetch fails or is late, for responses whose directives
	// allow serving stale at all; a longer stale-if-error wins. Zero means
	// DefaultMaxStale (1h); negative means no allowance beyond
	// stale-if-error.
	MaxStale time.Duration
	// Shared is the second level, shared with other replicas (Level);
	// nil means none.
	Shared Level
	// SharedWait is the longest a look-up in Shared may take, and it takes
	// at most a tenth of the time left before the request's deadline; zero
	// means DefaultSharedWait.
	SharedWait time.Duration
	// Now returns the current time; nil means time.Now. It is the tests'
	// seam.
	Now func() time.Time
}

// Cache is a size-bounded LRU store of upstream results. Create one with New.
type Cache struct {
	maxBytes int64
	maxStale time.Duration
	now      func() time.Time

	shared     Level
	sharedWait time.Duration

	mu    sync.Mutex
	lru   *simplelru.LRU[string, *entry] // guarded by mu
	bytes int64                          // guarded by mu; kept by onRemove

	door *doorkeeper // admits entries without freshness the second time

	hits, misses, staleHits, staleMiss   atomic.Uint64
	stores, rejected, evictions, expired atomic.Uint64
	sharedHits                           atomic.Uint64
}

// entry is one stored result. It is immutable once in the LRU.
type entry struct {
	numbers      []int64
	responseTime time.Time
	freshUntil   time.Time // fresh while now < freshUntil
	staleUntil   time.Time // usable by Stale while now < staleUntil; >= freshUntil
	size         int64
}

// New returns an empty Cache configured by cfg.
func New(cfg Config) *Cache {
	// cmp.Or takes the first non-zero value: zero (or less) is the default.
	c := &Cache{
		maxBytes:   cmp.Or(cfg.MaxBytes, DefaultMaxBytes),
		maxStale:   cmp.Or(cfg.MaxStale, DefaultMaxStale),
		sharedWait: cmp.Or(max(cfg.SharedWait, 0), DefaultSharedWait),
		now:        cfg.Now,
		door:       &doorkeeper{seed: maphash.MakeSeed()},
		shared:     cfg.Shared,
	}
	if c.now == nil {
		c.now = time.Now
	}
	// The LRU's own count bound is never reached: bytes bound it instead,
	// and each entry costs at least entryOverhead bytes.
	lru, err := simplelru.NewLRU(math.MaxInt, c.onRemove)
	if err != nil {
		panic("cache: " + err.Error()) // only for a non-positive size
	}
	c.lru = lru
	return c
}

// onRemove keeps the byte count; the LRU calls it, under mu, for every
// entry that leaves it (Remove, RemoveOldest).
func (c *Cache) onRemove(_ string, e *entry) { c.bytes -= e.size }

// Store records numbers for url, as received at responseTime for a request
// sent at requestTime, if h allows a shared cache to store it (see
// Freshness) and the entry can ever be served. It returns whether it stored.
//
// The stored entry replaces any earlier one for url. A response that is not
// stored also drops the earlier entry, so the cache never serves data older
// than a response seen since; the exception is a response older (by
// responseTime) than the stored one, which is ignored. An entry larger than
// MaxBytes is not stored. numbers is retained: the caller must not modify it
// afterwards. What it stores, or drops, it also stores or drops in the
// second level (Config.Shared).
func (c *Cache) Store(url string, numbers []int64, h Header, requestTime, responseTime time.Time) bool {
	e, storable := c.Prepare(numbers, h, requestTime, responseTime)
	ok := c.Put(url, e, storable)
	if c.shared != nil && (ok || !storable) {
		c.shared.Put(url, e, ok)
	}
	return ok
}

// Entry is one result as the cache keeps it: the numbers and the absolute
// instants that decide their use. It is what a second level of the cache,
// shared by several processes, holds (Prepare makes one, Put takes one).
type Entry struct {
	Numbers      []int64   // sorted, unique; shared and read-only once stored
	ResponseTime time.Time // when the response was received: the newer wins
	FreshUntil   time.Time // fresh while now is before it
	StaleUntil   time.Time // usable stale while now is before it; never before FreshUntil
}

// Prepare computes the entry Store would store for a response, with this
// cache's MaxStale allowance, and whether h lets a shared cache store it.
func (c *Cache) Prepare(numbers []int64, h Header, requestTime, responseTime time.Time) (Entry, bool) {
	p := Freshness(h, requestTime, responseTime)
	return Entry{
		Numbers:      numbers,
		ResponseTime: responseTime,
		FreshUntil:   p.FreshUntil,
		StaleUntil:   c.staleUntil(p),
	}, p.Storable
}

// Put stores e for url as Store does: when storable and still usable, it
// replaces the entry held, unless that one is newer; when not, it drops the
// entry held. An entry without freshness for a URL not held is stored only
// the second time its URL is offered (see doorkeeper). It returns whether
// it stored. e.Numbers is retained.
func (c *Cache) Put(url string, e Entry, storable bool) bool { return c.put(url, e, storable, true) }

// put is Put, through the doorkeeper if door.
func (c *Cache) put(url string, e Entry, storable, door bool) bool {
	now := c.now()
	ent := &entry{
		numbers:      e.Numbers[:len(e.Numbers):len(e.Numbers)],
		responseTime: e.ResponseTime,
		freshUntil:   e.FreshUntil,
		staleUntil:   e.StaleUntil,
		size:         int64(cap(e.Numbers))*8 + int64(len(url)) + entryOverhead,
	}
	ok := storable && now.Before(ent.staleUntil) && c.maxBytes > 0 && ent.size <= c.maxBytes
	staleOnly := !now.Before(ent.freshUntil)
	responseTime := e.ResponseTime

	var evicted uint64
	c.mu.Lock()
	old, found := c.lru.Peek(url)
	if found {
		if old.responseTime.After(responseTime) {
			c.mu.Unlock()
			c.rejected.Add(1)
			return false
		}
		c.lru.Remove(url)
	} else if ok && door && staleOnly && !c.door.seen(url) {
		ok = false // its URL's first time: remembered, not stored
	}
	if ok {
		c.lru.Add(url, ent)
		c.bytes += ent.size
		for c.bytes > c.maxBytes {
			c.lru.RemoveOldest()
			evicted++
		}
	}
	c.mu.Unlock()

	c.evictions.Add(evicted)
	if ok {
		c.stores.Add(1)
	} else {
		c.rejected.Add(1)
	}
	return ok
}

// staleUntil is the instant after which an entry with policy p may not be
// served at all: the later of stale-if-error and the MaxStale allowance
// when serving stale is allowed, else the end of freshness.
func (c *Cache) staleUntil(p Policy) time.Time {
	if !p.MayServeStale {
		return p.FreshUntil
	}
	until := p.StaleIfErrorUntil
	if c.maxStale > 0 {
		if t := p.FreshUntil.Add(c.maxStale); t.After(until) {
			until = t
		}
	}
	return until
}

// Fresh returns the numbers of url's entry if it is fresh (RFC 9111 section
// 4.2: its current age is below its freshness lifetime), to be used without
// fetching. The slice is shared and read-only.
func (c *Cache) Fresh(url string) ([]int64, bool) {
	now := c.now()
	e, ok := c.lookup(url, now)
	if !ok || !now.Before(e.freshUntil) {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return e.numbers, true
}

// Stale returns the numbers of url's entry if it may be used because the
// live fetch failed or was late: while fresh, and once stale only if its
// directives allow serving stale (no no-cache, must-revalidate,
// proxy-revalidate or s-maxage) and it is within its stale-if-error window
// or the MaxStale allowance. The slice is shared and read-only.
func (c *Cache) Stale(url string) ([]int64, bool) {
	e, ok := c.lookup(url, c.now())
	if !ok {
		c.staleMiss.Add(1)
		return nil, false
	}
	c.staleHits.Add(1)
	return e.numbers, true
}

// lookup returns url's entry if it is usable at all at now (before its
// staleUntil), marking it recently used; an entry past use is dropped.
func (c *Cache) lookup(url string, now time.Time) (*entry, bool) {
	c.mu.Lock()
	e, ok := c.lru.Get(url)
	if ok && !now.Before(e.staleUntil) {
		c.lru.Remove(url)
		c.mu.Unlock()
		c.expired.Add(1)
		return nil, false
	}
	c.mu.Unlock()
	return e, ok
}

// Level is the second level of the cache, shared by replicas. Both calls
// are on the request path: Get must return by ctx's deadline whatever the
// store does (a failure or a slow store is a miss), and Put must not block.
type Level interface {
	// Get returns the entry held for url, or false.
	Get(ctx context.Context, url string) (Entry, bool)
	// Put stores e for url in the background when storable is true, and
	// drops the entry held for url when it is false.
	Put(url string, e Entry, storable bool)
}

// DefaultSharedWait is the zero value of Config.SharedWait.
const DefaultSharedWait = 20 * time.Millisecond

// sharedShare is the share of the time left before a request's deadline
// that a look-up in the second level may take, at most.
const sharedShare = 10

// Shared looks url up in the second level, for a fetch whose context is
// ctx, before it goes upstream: within SharedWait and a tenth of the time
// left. An entry found goes into the first level, where it also stands in
// as a stale fallback; its numbers are returned when it is fresh. Without a
// second level it returns false at once.
func (c *Cache) Shared(ctx context.Context, url string) ([]int64, bool) {
	if c.shared == nil {
		return nil, false
	}
	deadline, _ := ctx.Deadline()
	wait := min(c.sharedWait, time.Until(deadline)/sharedShare)
	if wait <= 0 {
		return nil, false
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	e, ok := c.shared.Get(lctx, url)
	if !ok {
		return nil, false
	}
	c.put(url, e, true, false) // at once: the replica that shared it had offered its URL twice
	if !c.now().Before(e.FreshUntil) {
		return nil, false
	}
	c.sharedHits.Add(1)
	return e.Numbers, true
}
