// tiered.go puts a second level, shared with other replicas (Level; package
// redisstore implements it on Redis), behind the in-process cache: a miss of
// the first looks there within a small slice of the request's time, and
// every result stored in the first is shared through it.

package cache

import (
	"context"
	"time"
)

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
