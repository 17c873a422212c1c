// cache.go is the second level of the upstream cache: one key per upstream
// URL, its entry as the first level keeps it, expiring in Redis when the
// entry may no longer be served at all (freshness plus the stale allowance).

package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"numbers/cache"
)

// maxPuts bounds the cache writes in flight; more are dropped (counted).
const maxPuts = 256

// backoff is how long look-ups are skipped after one failed: a Redis that is
// down or slow costs requests nothing while it stays so, and one look-up a
// backoff tries it again.
const backoff = time.Second

// CacheStats counts what a Cache did; read it, never write it.
type CacheStats struct {
	Hits    atomic.Uint64 // look-ups that found an entry
	Misses  atomic.Uint64 // look-ups that found none
	Errors  atomic.Uint64 // look-ups that failed or ran out of time: misses too
	Skipped atomic.Uint64 // look-ups not made during a backoff: misses too
	Dropped atomic.Uint64 // writes not made: too many in flight, or Redis out of reach
}

// Cache is the second level of the upstream cache, in Redis (a
// cache.Level). It is safe for concurrent use.
type Cache struct {
	c     *Client
	sem   chan struct{} // a slot per write in flight
	wg    sync.WaitGroup
	retry atomic.Int64 // unix nanoseconds before which look-ups are skipped; 0 none

	// Stats counts what the cache did.
	Stats CacheStats
}

// Cache returns the second level of the upstream cache over c.
func (c *Client) Cache() *Cache {
	return &Cache{c: c, sem: make(chan struct{}, maxPuts)}
}

// cacheKey is the key of url's entry.
func (c *Cache) cacheKey(url string) string { return c.c.key("cache:" + url) }

// Get returns the entry held for url, or false: a miss, or Redis failed or
// did not answer by ctx's deadline. After a failure, look-ups are skipped
// (misses) for a second, but for one that tries again.
func (c *Cache) Get(ctx context.Context, url string) (cache.Entry, bool) {
	if until := c.retry.Load(); until != 0 {
		now := time.Now().UnixNano()
		if now < until || !c.retry.CompareAndSwap(until, now+int64(backoff)) {
			c.Stats.Skipped.Add(1)
			return cache.Entry{}, false
		}
		// This look-up is the one that tries again; the others keep skipping.
	}
	b, err := c.c.do(ctx, OpCacheGet, func(rc rueidis.Client) rueidis.Completed {
		return rc.B().Get().Key(c.cacheKey(url)).Build()
	}).AsBytes()
	switch {
	case rueidis.IsRedisNil(err):
		c.retry.Store(0)
		c.Stats.Misses.Add(1)
		return cache.Entry{}, false
	case err != nil:
		c.retry.Store(time.Now().Add(backoff).UnixNano())
		c.Stats.Errors.Add(1)
		return cache.Entry{}, false
	}
	c.retry.Store(0)
	e, err := decodeEntry(b)
	if err != nil {
		c.Stats.Misses.Add(1)
		return cache.Entry{}, false
	}
	c.Stats.Hits.Add(1)
	return e, true
}

// Put writes e for url in the background, to expire when it may no longer
// be served (e.StaleUntil), or deletes url's entry when storable is false.
// It never blocks: with too many writes in flight, or while look-ups back
// off after a failure, it drops this one.
func (c *Cache) Put(url string, e cache.Entry, storable bool) {
	if c.c.client() == nil || time.Now().UnixNano() < c.retry.Load() {
		c.Stats.Dropped.Add(1) // Redis is out of reach: look-ups are backing off
		return
	}
	select {
	case c.sem <- struct{}{}:
	default:
		c.Stats.Dropped.Add(1)
		return
	}
	var value []byte
	if storable {
		value = encodeEntry(e)
	}
	c.wg.Add(1)
	go func() {
		defer func() { <-c.sem; c.wg.Done() }()
		ctx, cancel := c.c.withTimeout()
		defer cancel()
		c.c.do(ctx, OpCachePut, func(rc rueidis.Client) rueidis.Completed {
			if !storable {
				return rc.B().Del().Key(c.cacheKey(url)).Build()
			}
			// PXAT: the entry expires when the writer's cache would drop it.
			return rc.B().Set().Key(c.cacheKey(url)).Value(rueidis.BinaryString(value)).
				Pxat(e.StaleUntil).Build()
		})
	}()
}

// Wait waits for the writes in flight.
func (c *Cache) Wait() { c.wg.Wait() }
