package source_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/outcome"
	"numbers/source"
)

// TestDeliverOnce: every Fetch has its deliver called exactly once, in every
// configuration and whatever the fetch does: synchronously for a fresh hit
// or a request without deadline, otherwise when the fetch (shared or not)
// ends, even after the request's deadline.
func TestDeliverOnce(t *testing.T) {
	const requests = 3
	cases := []struct {
		name  string
		entry string // Cache-Control of an entry stored beforehand; "" for none
		reply func(string) (fetcher.Response, error)
		block bool          // the fetch waits for release
		ttl   time.Duration // the requests' deadline; zero means none
		sync  bool          // delivered before Fetch returns
		want  outcome.Outcome
		late  bool // with background completion, the fetch outlives the deadline and delivers ok [1]
		nums  []int64
	}{
		{name: "fresh hit", entry: "max-age=60", reply: respond("max-age=60", 1), ttl: 5 * time.Second, sync: true, want: outcome.Cached, nums: []int64{9}},
		{name: "no deadline", reply: respond("max-age=60", 1), sync: true, want: outcome.Timeout},
		{name: "no deadline, stale entry", entry: "max-age=0", reply: respond("max-age=60", 1), sync: true, want: outcome.Stale, nums: []int64{9}},
		{name: "live", reply: respond("max-age=60", 1), block: true, ttl: 5 * time.Second, want: outcome.OK, nums: []int64{1}},
		{name: "failure, stale entry", entry: "max-age=0", reply: failWith(fetcher.ErrStatus), block: true, ttl: 5 * time.Second, want: outcome.Stale, nums: []int64{9}},
		{name: "failure", reply: failWith(fetcher.ErrTransport), block: true, ttl: 5 * time.Second, want: outcome.Failed},
		{name: "past the deadline", reply: respond("max-age=60", 1), block: true, ttl: 30 * time.Millisecond, want: outcome.Timeout, late: true},
	}
	for _, p := range paths {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				quiet := goleak.IgnoreCurrent()
				f := newFake(tc.reply)
				if tc.block {
					f.release = make(chan struct{})
				}
				c := cache.New(cache.Config{})
				if tc.entry != "" {
					hold(c, "http://a/x", []int64{9}, tc.entry)
				}
				s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: p.coalesce, Background: p.late})
				ctx := context.Background()
				if tc.ttl > 0 {
					ctx, _ = deadline(t, tc.ttl)
				}
				recs := make([]*recorder, requests)
				for i := range recs {
					recs[i] = start(s, ctx, "http://a/x")
					if got := recs[i].calls.Load(); tc.sync && got != 1 {
						t.Fatalf("request %d: %d deliveries when Fetch returned, want 1", i, got)
					}
				}
				want, nums := tc.want, tc.nums
				if tc.late && p.late > 0 {
					want, nums = outcome.OK, []int64{1}
				}
				if tc.ttl > 0 && tc.ttl < time.Second {
					<-ctx.Done()
				}
				// Without background completion, a fetch past its deadline must end
				// by itself: releasing it at the deadline would race its end.
				endsAlone := tc.late && p.late == 0
				if tc.block && !endsAlone {
					close(f.release)
				}
				for i, r := range recs {
					if d := <-r.ch; d.outcome != want || !slices.Equal(d.nums, nums) {
						t.Errorf("request %d: %v %v, want %v %v", i, d.nums, d.outcome, want, nums)
					}
				}
				if endsAlone {
					close(f.release)
				}
				// Once the Source's goroutines are gone, no delivery can follow.
				goleak.VerifyNone(t, quiet)
				for i, r := range recs {
					if n := r.calls.Load(); n != 1 {
						t.Errorf("request %d: deliver called %d times, want 1", i, n)
					}
				}
				wantCalls := int64(requests)
				switch {
				case tc.sync:
					wantCalls = 0
				case p.coalesce:
					wantCalls = 1
				}
				if n := f.calls.Load(); n != wantCalls {
					t.Errorf("fetcher called %d times, want %d", n, wantCalls)
				}
			})
		}
	}
}

// TestAbandon: Abandon answers from the cache whatever the state of a fetch,
// and is a timeout without a cache or an entry that may stand in.
func TestAbandon(t *testing.T) {
	cases := []struct {
		name  string
		cache bool
		entry string // Cache-Control of a stored entry; "" for none
		ok    bool
	}{
		{"no cache", false, "", false},
		{"no entry", true, "", false},
		{"fresh entry", true, "max-age=60", true},
		{"stale entry", true, "max-age=0", true},
		{"stale, must-revalidate", true, "max-age=0, must-revalidate", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := source.Config{Upstream: plain(newFake(respond("max-age=60", 1))), Coalesce: true}
			if tc.cache {
				cfg.Cache = cache.New(cache.Config{})
				if tc.entry != "" {
					hold(cfg.Cache, "http://a/x", []int64{9}, tc.entry)
				}
			}
			s := source.New(cfg)
			nums, o := s.Abandon("http://a/x")
			if tc.ok && (o != outcome.Stale || !slices.Equal(nums, []int64{9})) {
				t.Fatalf("Abandon = %v %v, want stale [9]", nums, o)
			}
			if !tc.ok && (o != outcome.Timeout || nums != nil) {
				t.Fatalf("Abandon = %v %v, want timeout and no numbers", nums, o)
			}
			if n := s.Stats.Fetches.Load(); n != 0 {
				t.Fatalf("Abandon started %d fetches", n)
			}
		})
	}
}
