package integration

import (
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"numbers/bench/simulator"
	"numbers/cache"
	"numbers/internal/testwait"
	"numbers/outcome"
)

// numbersURL is base's /numbers with the query params (name, value pairs).
func numbersURL(base string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return base + "/numbers?" + q.Encode()
}

// TestSimulatorDirectives fetches one URL of the simulator twice through a
// Source with a real client and checks, directive by directive, whether the
// second request was answered from the cache (the simulator's count for
// /numbers tells whether it was fetched).
func TestSimulatorDirectives(t *testing.T) {
	base := startSimulator(t)
	cases := []struct {
		name   string
		params []string
		cached bool
	}{
		{"max-age", []string{"cc", "max-age=60"}, true},
		{"max-age=0", []string{"cc", "max-age=0"}, false},
		{"no-store", []string{"cc", "no-store"}, false},
		{"no-store with max-age", []string{"cc", "max-age=60, no-store"}, false},
		{"no-cache", []string{"cc", "no-cache"}, false},
		{"no-cache with max-age", []string{"cc", "no-cache, max-age=60"}, false},
		{"private", []string{"cc", "private, max-age=60"}, false},
		{"public with max-age", []string{"cc", "public, max-age=60"}, true},
		{"public alone", []string{"cc", "public"}, false},
		{"must-revalidate while fresh", []string{"cc", "max-age=60, must-revalidate"}, true},
		{"s-maxage", []string{"cc", "s-maxage=60"}, true},
		{"s-maxage=0 beats max-age", []string{"cc", "s-maxage=0, max-age=60"}, false},
		{"Expires ahead", []string{"expires", "1m"}, true},
		{"Expires past", []string{"expires", "-1m"}, false},
		{"max-age beats Expires", []string{"cc", "max-age=0", "expires", "1m"}, false},
		{"Age below max-age", []string{"cc", "max-age=60", "age", "30"}, true},
		{"Age equal to max-age", []string{"cc", "max-age=60", "age", "60"}, false},
		{"Age above max-age", []string{"cc", "max-age=60", "age", "90"}, false},
		{"no caching headers", nil, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := chain(cache.Config{}, time.Second)
			// A distinct seed per case keeps the URLs apart; the cache is per case anyway.
			u := numbersURL(base, append([]string{"seed", strconv.Itoa(i + 1)}, tc.params...)...)
			before := served(t, base, "/numbers")
			dl := time.Now().Add(5 * time.Second)
			first, o := fetchSync(t, s, dl, u)
			if o != outcome.OK || len(first) == 0 {
				t.Fatalf("first: %v %v, want ok", first, o)
			}
			second, o := fetchSync(t, s, dl, u)
			want, fetches := outcome.OK, uint64(2)
			if tc.cached {
				want, fetches = outcome.Cached, 1
			}
			if o != want || !slices.Equal(first, second) {
				t.Fatalf("second: %v (numbers equal: %v), want %v", o, slices.Equal(first, second), want)
			}
			if n := served(t, base, "/numbers") - before; n != fetches {
				t.Fatalf("simulator served %d requests, want %d", n, fetches)
			}
		})
	}
}

// TestSimulatorStaleIfError: an entry stored from the simulator is served
// stale once the upstream is gone, when its directives allow it. The
// failure is the simulator shutting down (the cache key is the URL, so the
// URL cannot change to ask for a failure): the next fetch fails to connect.
func TestSimulatorStaleIfError(t *testing.T) {
	cases := []struct {
		name string
		cc   string
		want outcome.Outcome
	}{
		{"stale-if-error", "max-age=0, stale-if-error=60", outcome.Stale},
		{"no stale-if-error", "max-age=0", outcome.Failed},
		{"must-revalidate", "max-age=0, must-revalidate, stale-if-error=60", outcome.Failed},
		{"no-cache", "no-cache, stale-if-error=60", outcome.Failed},
		{"no-store", "no-store, stale-if-error=60", outcome.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, base, err := simulator.Start(simulator.Config{Seed: 1}, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			// MaxStale negative: only stale-if-error allows serving stale.
			s := chain(cache.Config{MaxStale: -1}, time.Second)
			u := numbersURL(base, "cc", tc.cc)
			dl := time.Now().Add(5 * time.Second)
			first, o := fetchSync(t, s, dl, u)
			if o != outcome.OK {
				t.Fatalf("first: %v, want ok", o)
			}
			// A response without freshness is stored the second time its
			// URL is fetched.
			if _, o := fetchSync(t, s, dl, u); o != outcome.OK {
				t.Fatalf("second: %v, want ok", o)
			}
			if err := srv.Shutdown(); err != nil {
				t.Fatal(err)
			}
			nums, o := fetchSync(t, s, dl, u)
			if o != tc.want {
				t.Fatalf("after shutdown: %v, want %v", o, tc.want)
			}
			if o == outcome.Stale && !slices.Equal(nums, first) {
				t.Fatalf("stale numbers %v, want %v", nums, first)
			}
		})
	}
}

// TestSimulatorLate: an upstream slower than its caller lands in the cache
// and serves the next request.
func TestSimulatorLate(t *testing.T) {
	base := startSimulator(t)
	s := chain(cache.Config{}, 5*time.Second)
	u := numbersURL(base, "cc", "max-age=60", "delay", "300ms")
	dl := time.Now().Add(50 * time.Millisecond)
	if _, o := fetchSync(t, s, dl, u); o != outcome.Timeout {
		t.Fatalf("first: %v, want timeout", o)
	}
	if late := time.Since(dl); late > slack {
		t.Fatalf("returned %v after its deadline", late)
	}
	testwait.Eventually(t, "the late fetch to be stored", func() bool { return s.Stats.LateStored.Load() == 1 })
	dl2 := time.Now().Add(50 * time.Millisecond)
	if nums, o := fetchSync(t, s, dl2, u); o != outcome.Cached || len(nums) == 0 {
		t.Fatalf("next: %v %v, want cached numbers", nums, o)
	}
	if n := served(t, base, "/numbers"); n != 1 {
		t.Fatalf("simulator served %d requests, want 1", n)
	}
}

// TestSimulatorHang: an upstream that never answers costs its caller no
// more than its deadline, and the background fetch ends within its late
// budget (goleak checks that nothing is left).
func TestSimulatorHang(t *testing.T) {
	base := startSimulator(t)
	s := chain(cache.Config{}, 100*time.Millisecond)
	dl := time.Now().Add(50 * time.Millisecond)
	if _, o := fetchSync(t, s, dl, numbersURL(base, "mode", "hang")); o != outcome.Timeout {
		t.Fatalf("got %v, want timeout", o)
	}
	if late := time.Since(dl); late > slack {
		t.Fatalf("returned %v after its deadline", late)
	}
}

// TestSimulatorCoalescing: 100 concurrent requests for one slow URL cause
// one upstream request.
func TestSimulatorCoalescing(t *testing.T) {
	const callers = 100
	base := startSimulator(t)
	s := chain(cache.Config{}, time.Second)
	u := numbersURL(base, "cc", "max-age=60", "delay", "300ms")
	dl := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if nums, o := fetchSync(t, s, dl, u); !o.Contributed() || len(nums) == 0 {
				t.Errorf("got %v %v", nums, o)
			}
		})
	}
	wg.Wait()
	if n := served(t, base, "/numbers"); n != 1 {
		t.Fatalf("simulator served %d requests for %d callers, want 1", n, callers)
	}
}
