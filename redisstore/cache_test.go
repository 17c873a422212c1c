package redisstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"numbers/cache"
	"numbers/redisstore/redistest"
)

func TestCacheSharedBetweenClients(t *testing.T) {
	a, b := open(t, srv.URL).Cache(), open(t, srv.URL).Cache()
	ctx := context.Background()
	now := time.Now()
	e := cache.Entry{Numbers: []int64{1, 2, 3}, ResponseTime: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(time.Hour)}

	if _, ok := b.Get(ctx, "http://u/x"); ok {
		t.Fatal("hit before any write")
	}
	a.Put("http://u/x", e, true)
	a.Wait()
	got, ok := b.Get(ctx, "http://u/x")
	if !ok || !slices.Equal(got.Numbers, e.Numbers) || !got.FreshUntil.Equal(e.FreshUntil) {
		t.Fatalf("through b: %+v %v, want %+v", got, ok, e)
	}
	// The key expires with the entry's use: about an hour from now.
	ttl, err := a.c.client().Do(ctx, a.c.client().B().Pttl().Key(a.cacheKey("http://u/x")).Build()).AsInt64()
	if err != nil || ttl < int64(59*time.Minute/time.Millisecond) || ttl > int64(time.Hour/time.Millisecond) {
		t.Fatalf("PTTL %d ms (%v), want about an hour", ttl, err)
	}
	a.Put("http://u/x", cache.Entry{}, false) // no-store: dropped
	a.Wait()
	if _, ok := b.Get(ctx, "http://u/x"); ok {
		t.Fatal("hit after the entry was dropped")
	}
	if b.Stats.Hits.Load() != 1 || b.Stats.Misses.Load() != 2 {
		t.Fatalf("stats: %d hits, %d misses; want 1, 2", b.Stats.Hits.Load(), b.Stats.Misses.Load())
	}
}

// TestCacheRedisDown: with Redis stopped a look-up is a miss by its
// deadline, the next ones are skipped without asking Redis, and once Redis
// is back, after the backoff, look-ups are made again.
func TestCacheRedisDown(t *testing.T) {
	own, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	c := open(t, own.URL).Cache()
	now := time.Now()
	c.Put("http://u/y", cache.Entry{Numbers: []int64{4}, ResponseTime: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(time.Hour)}, true)
	c.Wait()

	own.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, ok := c.Get(ctx, "http://u/y"); ok {
		t.Fatal("hit with Redis stopped")
	}
	if took := time.Since(start); took > 150*time.Millisecond { // the deadline, and room for a busy machine
		t.Fatalf("a look-up took %v with Redis stopped, past its 50ms deadline", took)
	}
	if _, ok := c.Get(ctx, "http://u/y"); ok || c.Stats.Skipped.Load() != 1 || c.Stats.Errors.Load() != 1 {
		t.Fatalf("second look-up: hit %v, %d skipped, %d errors; want a skipped miss after one error",
			ok, c.Stats.Skipped.Load(), c.Stats.Errors.Load())
	}
	if c.c.Up() {
		t.Fatal("Up with Redis stopped")
	}

	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	c.retry.Store(time.Now().UnixNano()) // the backoff is over
	c.Put("http://u/y", cache.Entry{Numbers: []int64{5}, ResponseTime: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(time.Hour)}, true)
	c.Wait()
	got, ok := c.Get(context.Background(), "http://u/y")
	if !ok || !slices.Equal(got.Numbers, []int64{5}) {
		t.Fatalf("after the restart: %v %v, want [5]", got.Numbers, ok)
	}
}
