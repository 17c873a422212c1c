package handler

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/redisstore"
	"numbers/redisstore/redistest"
	"numbers/resilience"
	"numbers/source"
)

// instantFetcher answers 20 numbers at once with no caching headers: the
// result is stored stale-only, so every request fetches again, and with a
// second level every flight looks there first (and finds a stale entry).
type instantFetcher []int64

func (n instantFetcher) Fetch(context.Context, string) (fetcher.Response, error) {
	now := time.Now()
	return fetcher.Response{Numbers: n, Sent: now, Received: now}, nil
}

// BenchmarkHandleShared is BenchmarkHandle with a real source (cache and
// coalescing) in front of instant upstreams whose results are never fresh,
// without and with the second level of the cache on a real redis-server
// (each of the 4 flights of a request looks there first), and with a Redis
// that is down (look-ups skipped after a failure). It measures what the
// look-up adds to a request that misses.
func BenchmarkHandleShared(b *testing.B) {
	run := func(b *testing.B, remote cache.Level) {
		src := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: instantFetcher(twenty(7))}),
			Cache: cache.New(cache.Config{Shared: remote}), Coalesce: true})
		h := New(Config{Source: src, Budget: time.Hour})
		benchHandle(b, h.Handle, fasthttp.StatusOK)
	}
	b.Run("remote=none", func(b *testing.B) { run(b, nil) })
	srv, err := redistest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct{ name, url string }{
		{"remote=redis", srv.URL},
		{"remote=redis-down", "redis://127.0.0.1:1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			client, err := redisstore.Open(redisstore.Config{URL: c.url})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			remote := client.Cache()
			defer remote.Wait()
			run(b, remote)
		})
	}
}
