package source_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"numbers/fetcher"
	"numbers/source"
)

// TestCoalescing: 100 concurrent callers of one slow URL share one fetch.
func TestCoalescing(t *testing.T) {
	const callers = 100
	for _, coalesce := range []bool{true, false} {
		t.Run(map[bool]string{false: "off", true: "on"}[coalesce], func(t *testing.T) {
			f := newFake(respond("max-age=60", 1, 2, 3))
			f.release = make(chan struct{})
			f.started = make(chan call, callers)
			s := source.New(source.Config{Fetcher: f, Coalesce: coalesce, LateBudget: time.Second})
			ctx, _ := deadline(t, 10*time.Second)

			var wg sync.WaitGroup
			outcomes := make(chan []int64, callers)
			for range callers {
				wg.Go(func() {
					nums, o := s.Fetch(ctx, "http://a/slow")
					if o != fetcher.OK {
						t.Errorf("got %v, want ok", o)
					}
					outcomes <- nums
				})
			}
			waitBlocked(t, callers)
			close(f.release)
			wg.Wait()
			close(outcomes)
			for nums := range outcomes {
				if !slices.Equal(nums, []int64{1, 2, 3}) {
					t.Fatalf("a caller got %v", nums)
				}
			}
			wantCalls, wantCoalesced := int64(1), uint64(callers-1)
			if !coalesce {
				wantCalls, wantCoalesced = callers, 0
			}
			if n := f.calls.Load(); n != wantCalls {
				t.Errorf("fetcher called %d times, want %d", n, wantCalls)
			}
			if n := s.Stats.Fetches.Load(); n != uint64(wantCalls) {
				t.Errorf("Stats.Fetches = %d, want %d", n, wantCalls)
			}
			if n := s.Stats.Coalesced.Load(); n != wantCoalesced {
				t.Errorf("Stats.Coalesced = %d, want %d", n, wantCoalesced)
			}
			waitIdle(t, f)
		})
	}
}

// TestCoalescedCallerKeepsItsDeadline: a caller joining a flight whose
// leader has a longer deadline still returns at its own.
func TestCoalescedCallerKeepsItsDeadline(t *testing.T) {
	f := newFake(respond("max-age=60", 8))
	f.release = make(chan struct{})
	f.started = make(chan call, 1)
	s := source.New(source.Config{Fetcher: f, Coalesce: true})
	leaderCtx, _ := deadline(t, 10*time.Second)
	leader := make(chan fetcher.Outcome, 1)
	go func() {
		_, o := s.Fetch(leaderCtx, "http://a/x")
		leader <- o
	}()
	<-f.started

	ctx, dl := deadline(t, 50*time.Millisecond)
	if _, o := s.Fetch(ctx, "http://a/x"); o != fetcher.Timeout {
		t.Fatalf("follower: %v, want timeout", o)
	}
	if late := time.Since(dl); late > slack {
		t.Fatalf("follower returned %v after its deadline", late)
	}
	close(f.release)
	if o := <-leader; o != fetcher.OK {
		t.Fatalf("leader: %v, want ok", o)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("fetcher called %d times, want 1", n)
	}
	waitIdle(t, f)
}

// TestFlightsEnd: once a flight is over, whether its callers waited or gave
// up, the next Fetch of the URL starts a new one: no key is left behind.
func TestFlightsEnd(t *testing.T) {
	f := newFake(respond("max-age=60", 1))
	s := source.New(source.Config{Fetcher: f, Coalesce: true, LateBudget: time.Second}) // no cache
	ctx, _ := deadline(t, 5*time.Second)
	for i := range 3 {
		if _, o := s.Fetch(ctx, "http://a/x"); o != fetcher.OK {
			t.Fatalf("fetch %d: %v", i, o)
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("fetcher called %d times, want 3", n)
	}

	// A flight whose caller gave up, finished late.
	f.release = make(chan struct{})
	short, _ := deadline(t, 20*time.Millisecond)
	if _, o := s.Fetch(short, "http://a/x"); o != fetcher.Timeout {
		t.Fatalf("abandoned: %v, want timeout", o)
	}
	close(f.release)
	waitIdle(t, f)
	eventually(t, "the abandoned flight to end", func() bool {
		// A Fetch that joins a still-registered flight is counted as coalesced;
		// one that starts a new flight is not.
		before := f.calls.Load()
		s.Fetch(ctx, "http://a/x")
		return f.calls.Load() == before+1
	})
	if n := s.Stats.Coalesced.Load(); n != 0 {
		t.Fatalf("Stats.Coalesced = %d with sequential callers, want 0", n)
	}
}
