package source_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/outcome"
	"numbers/source"
)

// paths are the configurations that take distinct code paths in Fetch: a
// goroutine per fetch or a flight shared by a URL's requests, each with and
// without background completion.
var paths = []struct {
	name     string
	coalesce bool
	late     time.Duration
}{
	{"direct", false, 0},
	{"coalesce", true, 0},
	{"late", false, time.Second},
	{"coalesce+late", true, time.Second},
}

func TestFreshHitDoesNotFetch(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(respond("max-age=60", 3, 1, 2))
			c := cache.New(cache.Config{})
			s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: p.coalesce, Background: p.late})
			ctx, _ := deadline(t, 5*time.Second)

			nums, o := fetchSync(t, s, ctx, "http://a/x")
			if o != outcome.OK || !slices.Equal(nums, []int64{3, 1, 2}) {
				t.Fatalf("miss: got %v %v, want ok [3 1 2]", nums, o)
			}
			if c.Len() != 1 {
				t.Fatalf("miss: cache has %d entries, want 1", c.Len())
			}
			for range 3 {
				nums, o = fetchSync(t, s, ctx, "http://a/x")
				if o != outcome.Cached || !slices.Equal(nums, []int64{3, 1, 2}) {
					t.Fatalf("hit: got %v %v, want cached [3 1 2]", nums, o)
				}
			}
			if n := f.calls.Load(); n != 1 {
				t.Fatalf("fetcher called %d times, want 1", n)
			}
			if n := s.Stats.Fetches.Load(); n != 1 {
				t.Fatalf("Stats.Fetches = %d, want 1", n)
			}
		})
	}
}

// TestDirectives stores one response with the given Cache-Control, then
// fails the upstream with ErrStatus and checks whether the second request
// fetches again and what it gets.
func TestDirectives(t *testing.T) {
	cases := []struct {
		name     string
		cc       string
		maxStale time.Duration // cache.Config.MaxStale
		second   outcome.Outcome
		calls    int64
	}{
		{"max-age fresh", "max-age=60", 0, outcome.Cached, 1},
		{"s-maxage fresh", "s-maxage=60", 0, outcome.Cached, 1},
		{"s-maxage wins over max-age", "s-maxage=0, max-age=60", 0, outcome.Failed, 2},
		{"stale within max-stale", "max-age=0", 0, outcome.Stale, 2},
		{"stale-if-error without max-stale", "max-age=0, stale-if-error=60", -1, outcome.Stale, 2},
		{"stale, no allowance", "max-age=0", -1, outcome.Failed, 2},
		{"must-revalidate", "max-age=0, must-revalidate", 0, outcome.Failed, 2},
		{"must-revalidate beats stale-if-error", "max-age=0, must-revalidate, stale-if-error=60", 0, outcome.Failed, 2},
		{"proxy-revalidate", "max-age=0, proxy-revalidate", 0, outcome.Failed, 2},
		{"stale s-maxage", "s-maxage=0, stale-if-error=60", 0, outcome.Failed, 2},
		{"no-cache", "no-cache", 0, outcome.Failed, 2},
		{"no-cache with max-age", "no-cache, max-age=60", 0, outcome.Failed, 2},
		{"no-store", "no-store", 0, outcome.Failed, 2},
		{"no-store with max-age", "max-age=60, no-store", 0, outcome.Failed, 2},
		{"private", "private, max-age=60", 0, outcome.Failed, 2},
		{"no header", "", 0, outcome.Stale, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(respond(tc.cc, 7))
			c := cache.New(cache.Config{MaxStale: tc.maxStale})
			s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: true, Background: time.Second})
			ctx, _ := deadline(t, 5*time.Second)
			// Twice: a response without freshness is stored the second
			// time its URL is fetched; a fresh one, the first, and the
			// second request is then a hit.
			for i := range 2 {
				if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.OK && (i == 0 || o != outcome.Cached) {
					t.Fatalf("first, %d: %v, want ok", i, o)
				}
			}
			primed := f.calls.Load()
			f.setReply(failWith(fetcher.ErrStatus))
			nums, o := fetchSync(t, s, ctx, "http://a/x")
			if o != tc.second {
				t.Fatalf("second: %v, want %v", o, tc.second)
			}
			if o.Contributed() != (nums != nil) || (nums != nil && !slices.Equal(nums, []int64{7})) {
				t.Fatalf("second: numbers %v with outcome %v", nums, o)
			}
			if n := f.calls.Load() - primed; n != tc.calls-1 {
				t.Fatalf("fetcher called %d times for the second request, want %d", n, tc.calls-1)
			}
		})
	}
}

func TestFailureOutcomes(t *testing.T) {
	cases := []struct {
		name      string
		kind      error
		withEntry outcome.Outcome // with a stale-allowed entry
		without   outcome.Outcome
	}{
		{"status", fetcher.ErrStatus, outcome.Stale, outcome.Failed},
		{"transport", fetcher.ErrTransport, outcome.Stale, outcome.Failed},
		{"body", fetcher.ErrBody, outcome.Stale, outcome.Failed},
		{"too large", fetcher.ErrTooLarge, outcome.Stale, outcome.Failed},
		{"timeout", fetcher.ErrTimeout, outcome.Stale, outcome.Timeout},
		{"denied is never served stale", fetcher.ErrDenied, outcome.Denied, outcome.Denied},
	}
	for _, p := range paths {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				ctx, _ := deadline(t, 5*time.Second)
				f := newFake(failWith(tc.kind))
				s := source.New(source.Config{Upstream: plain(f), Cache: cache.New(cache.Config{}), Coalesce: p.coalesce, Background: p.late})
				if nums, o := fetchSync(t, s, ctx, "http://a/x"); o != tc.without || nums != nil {
					t.Fatalf("without entry: %v %v, want %v", nums, o, tc.without)
				}

				f.setReply(respond("max-age=0, stale-if-error=600", 1))
				for range 2 { // stale-only: stored the second time
					if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.OK {
						t.Fatalf("storing: %v", o)
					}
				}
				f.setReply(failWith(tc.kind))
				nums, o := fetchSync(t, s, ctx, "http://a/x")
				if o != tc.withEntry {
					t.Fatalf("with entry: %v, want %v", o, tc.withEntry)
				}
				if want := o == outcome.Stale; want != (nums != nil) {
					t.Fatalf("with entry: numbers %v with outcome %v", nums, o)
				}
			})
		}
	}
}

func TestNoCache(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			ctx, _ := deadline(t, 5*time.Second)
			f := newFake(respond("max-age=60", 1))
			s := source.New(source.Config{Upstream: plain(f), Coalesce: p.coalesce, Background: p.late})
			for range 3 {
				if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.OK {
					t.Fatalf("got %v, want ok", o)
				}
			}
			if n := f.calls.Load(); n != 3 {
				t.Fatalf("fetcher called %d times, want 3", n)
			}
			f.setReply(failWith(fetcher.ErrStatus))
			if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.Failed {
				t.Fatalf("failure without cache: %v, want failed", o)
			}
		})
	}
}

func TestNoDeadlineNeverFetches(t *testing.T) {
	f := newFake(respond("max-age=0", 1))
	c := cache.New(cache.Config{})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: true, Background: time.Second})
	if _, o := fetchSync(t, s, context.Background(), "http://a/x"); o != outcome.Timeout {
		t.Fatalf("no deadline, no entry: %v, want timeout", o)
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("fetcher called %d times without a deadline", n)
	}
	hold(c, "http://a/x", []int64{4}, "max-age=0")
	if nums, o := fetchSync(t, s, context.Background(), "http://a/x"); o != outcome.Stale || !slices.Equal(nums, []int64{4}) {
		t.Fatalf("no deadline, stale entry: %v %v, want stale [4]", nums, o)
	}
}

func TestFetchedIsToldEveryLiveFetch(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			ctx, _ := deadline(t, 5*time.Second)
			var told atomicCount
			s := source.New(source.Config{
				Upstream: plain(newFake(respond("max-age=60", 1))), Cache: cache.New(cache.Config{}),
				Coalesce: p.coalesce, Background: p.late,
				Fetched: func(d time.Duration) {
					if d < 0 {
						t.Errorf("negative duration %v", d)
					}
					told.add()
				},
			})
			fetchSync(t, s, ctx, "http://a/x")
			fetchSync(t, s, ctx, "http://a/x") // cached: not told
			fetchSync(t, s, ctx, "http://a/y")
			if n := told.load(); n != 2 {
				t.Fatalf("Fetched told %d times, want 2", n)
			}
		})
	}
}

// TestEviction fills a small cache through the Source: its bytes never pass
// the bound, the oldest entries go and the newest stay.
func TestEviction(t *testing.T) {
	const maxBytes = 2000
	ctx, _ := deadline(t, 5*time.Second)
	f := newFake(respond("max-age=60", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
	c := cache.New(cache.Config{MaxBytes: maxBytes})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: true, Background: time.Second})
	url := func(i int) string { return "http://a/" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }
	const n = 100
	for i := range n {
		if _, o := fetchSync(t, s, ctx, url(i)); o != outcome.OK {
			t.Fatalf("%s: %v", url(i), o)
		}
		if b := c.Bytes(); b > maxBytes {
			t.Fatalf("after %d stores the cache holds %d bytes, bound %d", i+1, b, maxBytes)
		}
	}
	if c.Stats().Evictions == 0 || c.Len() >= n {
		t.Fatalf("no eviction: %d entries, stats %+v", c.Len(), c.Stats())
	}
	if _, o := fetchSync(t, s, ctx, url(n-1)); o != outcome.Cached {
		t.Fatalf("newest entry: %v, want cached", o)
	}
	calls := f.calls.Load()
	if _, o := fetchSync(t, s, ctx, url(0)); o != outcome.OK || f.calls.Load() != calls+1 {
		t.Fatalf("oldest entry: %v, want ok after a new fetch", o)
	}
	if b := c.Bytes(); b > maxBytes {
		t.Fatalf("cache holds %d bytes, bound %d", b, maxBytes)
	}
}

// mapRemote is a cache.Level in memory: the second level of two replicas'
// caches, shared. hang makes Get wait for its context instead.
type mapRemote struct {
	mu      sync.Mutex
	entries map[string]cache.Entry
	gets    int
	hang    bool
}

func newMapRemote() *mapRemote { return &mapRemote{entries: map[string]cache.Entry{}} }

func (m *mapRemote) Get(ctx context.Context, url string) (cache.Entry, bool) {
	m.mu.Lock()
	m.gets++
	hang := m.hang
	e, ok := m.entries[url]
	m.mu.Unlock()
	if hang {
		<-ctx.Done()
		return cache.Entry{}, false
	}
	return e, ok
}

func (m *mapRemote) Put(url string, e cache.Entry, storable bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !storable {
		delete(m.entries, url)
		return
	}
	m.entries[url] = e
}

// replica is one replica's source over the shared remote.
func replica(f *fake, r cache.Level, coalesce bool) (*source.Source, *cache.Cache) {
	c := cache.New(cache.Config{Shared: r})
	return source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: coalesce}), c
}

// TestSharedAcrossReplicas: a result fetched by one replica is cached on
// another without a second upstream request; a stale-only result found in
// the second level stands in when the other's live fetch fails; no-store
// drops the shared entry.
func TestSharedAcrossReplicas(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "coalesce"}[coalesce], func(t *testing.T) {
			remote := newMapRemote()
			f := newFake(respond("max-age=60", 3, 1, 2))
			a, _ := replica(f, remote, coalesce)
			b, bc := replica(f, remote, coalesce)
			ctx, _ := deadline(t, 5*time.Second)

			if _, o := fetchSync(t, a, ctx, "http://u/fresh"); o != outcome.OK {
				t.Fatalf("through A: outcome %v, want ok", o)
			}
			nums, o := fetchSync(t, b, ctx, "http://u/fresh")
			if o != outcome.Cached || !slices.Equal(nums, []int64{3, 1, 2}) {
				t.Fatalf("through B: got %v %v, want cached [3 1 2]", nums, o)
			}
			if n := f.calls.Load(); n != 1 {
				t.Fatalf("upstream asked %d times, want 1", n)
			}
			if bc.Len() != 1 || bc.Stats().SharedHits != 1 {
				t.Fatalf("B: %d local entries, %d shared hits; want 1, 1", bc.Len(), bc.Stats().SharedHits)
			}
			// Now B's first level answers: no second look-up.
			gets := remote.gets
			if _, o := fetchSync(t, b, ctx, "http://u/fresh"); o != outcome.Cached || remote.gets != gets {
				t.Fatalf("B again: outcome %v, %d more look-ups; want cached, 0", o, remote.gets-gets)
			}

			f.setReply(respond("", 7)) // stored stale-only, the second time
			for range 2 {
				if _, o := fetchSync(t, a, ctx, "http://u/stale"); o != outcome.OK {
					t.Fatalf("stale through A: outcome %v", o)
				}
			}
			f.setReply(failWith(fetcher.ErrStatus))
			nums, o = fetchSync(t, b, ctx, "http://u/stale")
			if o != outcome.Stale || !slices.Equal(nums, []int64{7}) {
				t.Fatalf("stale through B: got %v %v, want stale [7]", nums, o)
			}

			f.setReply(respond("no-store", 9))
			fetchSync(t, a, ctx, "http://u/fresh2")
			remote.mu.Lock()
			_, held := remote.entries["http://u/fresh2"]
			remote.mu.Unlock()
			if held {
				t.Fatal("a no-store result was shared")
			}
			waitIdle(t, f)
		})
	}
}

// TestSlowRemoteIsAMiss: a second level that never answers costs a flight
// at most SharedWait, then it fetches live; the answer is never late.
func TestSlowRemoteIsAMiss(t *testing.T) {
	remote := newMapRemote()
	remote.hang = true
	f := newFake(respond("max-age=60", 5))
	c := cache.New(cache.Config{Shared: remote, SharedWait: 5 * time.Millisecond})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: true})
	ctx, _ := deadline(t, 5*time.Second)
	nums, o := fetchSync(t, s, ctx, "http://u/x")
	if o != outcome.OK || !slices.Equal(nums, []int64{5}) {
		t.Fatalf("got %v %v, want ok [5]", nums, o)
	}
	// A request with 40ms left may spend only a tenth of it there: the
	// live fetch still answers.
	ctx2, _ := deadline(t, 40*time.Millisecond)
	s2 := source.New(source.Config{Upstream: plain(f), Cache: cache.New(cache.Config{Shared: remote, SharedWait: time.Second})})
	if _, o := fetchSync(t, s2, ctx2, "http://u/y"); o != outcome.OK {
		t.Fatalf("short budget: outcome %v, want ok", o)
	}
	waitIdle(t, f)
}
