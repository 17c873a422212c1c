// remote.go puts a second level of the cache, shared with other replicas
// (package redisstore), behind the first: a miss of the in-process cache
// looks there within a small slice of the request's time, and every result
// stored in the first is shared through it.

package source

import (
	"context"
	"time"

	"numbers/cache"
	"numbers/fetcher"
)

// Remote is the second level of the cache, shared by replicas. Both calls
// are on the request path: Get must return by ctx's deadline whatever the
// store does (a failure or a slow store is a miss), and Put must not block.
type Remote interface {
	// Get returns the entry held for url, or false.
	Get(ctx context.Context, url string) (cache.Entry, bool)
	// Put stores e for url in the background when storable is true, and
	// drops the entry held for url when it is false.
	Put(url string, e cache.Entry, storable bool)
}

// DefaultRemoteWait is the zero value of Config.RemoteWait.
const DefaultRemoteWait = 20 * time.Millisecond

// remoteShare is the share of the time left before a request's deadline that
// a look-up in the second level may take, at most.
const remoteShare = 10

// shared looks url up in the second level, for a flight whose context is
// ctx, before it fetches live: within RemoteWait and a tenth of the time
// left. An entry found goes into the first level, where it also stands in
// as a stale fallback; its numbers are returned when it is fresh.
func (s *Source) shared(ctx context.Context, url string) ([]int64, bool) {
	if s.remote == nil || s.cache == nil {
		return nil, false
	}
	deadline, _ := ctx.Deadline()
	wait := min(s.remoteWait, time.Until(deadline)/remoteShare)
	if wait <= 0 {
		return nil, false
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	e, ok := s.remote.Get(lctx, url)
	if !ok {
		return nil, false
	}
	s.cache.PutShared(url, e)
	if !time.Now().Before(e.FreshUntil) {
		return nil, false
	}
	s.Stats.SharedHits.Add(1)
	return e.Numbers, true
}

// store puts a fetched result in the cache, and in the second level when
// it has one, and reports whether it stored it in the first.
func (s *Source) store(url string, r fetcher.Response) bool {
	if s.cache == nil {
		return false
	}
	e, storable := s.cache.Prepare(r.Numbers, cache.Header{
		CacheControl: r.CacheControl, Expires: r.Expires, Date: r.Date, Age: r.Age,
	}, r.Sent, r.Received)
	ok := s.cache.Put(url, e, storable)
	if s.remote != nil && (ok || !storable) {
		s.remote.Put(url, e, ok)
	}
	return ok
}
