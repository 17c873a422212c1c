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

// mapRemote is a source.Remote in memory: the second level of two replicas'
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
func replica(f *fake, r source.Remote, coalesce bool) (*source.Source, *cache.Cache) {
	c := cache.New(cache.Config{})
	return source.New(source.Config{Fetcher: f, Cache: c, Coalesce: coalesce, Remote: r}), c
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
			if bc.Len() != 1 || b.Stats.SharedHits.Load() != 1 {
				t.Fatalf("B: %d local entries, %d shared hits; want 1, 1", bc.Len(), b.Stats.SharedHits.Load())
			}
			// Now B's first level answers: no second look-up.
			gets := remote.gets
			if _, o := fetchSync(t, b, ctx, "http://u/fresh"); o != outcome.Cached || remote.gets != gets {
				t.Fatalf("B again: outcome %v, %d more look-ups; want cached, 0", o, remote.gets-gets)
			}

			f.setReply(respond("", 7)) // stored stale-only
			if _, o := fetchSync(t, a, ctx, "http://u/stale"); o != outcome.OK {
				t.Fatalf("stale through A: outcome %v", o)
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
// at most RemoteWait, then it fetches live; the answer is never late.
func TestSlowRemoteIsAMiss(t *testing.T) {
	remote := newMapRemote()
	remote.hang = true
	f := newFake(respond("max-age=60", 5))
	c := cache.New(cache.Config{})
	s := source.New(source.Config{Fetcher: f, Cache: c, Coalesce: true, Remote: remote, RemoteWait: 5 * time.Millisecond})
	ctx, _ := deadline(t, 5*time.Second)
	nums, o := fetchSync(t, s, ctx, "http://u/x")
	if o != outcome.OK || !slices.Equal(nums, []int64{5}) {
		t.Fatalf("got %v %v, want ok [5]", nums, o)
	}
	// A request with 40ms left may spend only a tenth of it there: the
	// live fetch still answers.
	ctx2, _ := deadline(t, 40*time.Millisecond)
	s2 := source.New(source.Config{Fetcher: f, Cache: cache.New(cache.Config{}), Remote: remote, RemoteWait: time.Second})
	if _, o := fetchSync(t, s2, ctx2, "http://u/y"); o != outcome.OK {
		t.Fatalf("short budget: outcome %v, want ok", o)
	}
	waitIdle(t, f)
}
