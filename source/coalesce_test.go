package source_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"numbers/internal/testwait"
	"numbers/outcome"
	"numbers/source"
)

// TestCoalescing: 100 concurrent requests for one slow URL share one fetch
// and each is delivered its numbers.
func TestCoalescing(t *testing.T) {
	const callers = 100
	for _, coalesce := range []bool{true, false} {
		t.Run(map[bool]string{false: "off", true: "on"}[coalesce], func(t *testing.T) {
			f := newFake(respond("max-age=60", 1, 2, 3))
			f.release = make(chan struct{})
			f.started = make(chan call, callers)
			s := source.New(source.Config{Upstream: plain(f), Coalesce: coalesce, Background: time.Second})
			ctx, _ := deadline(t, 10*time.Second)

			var wg sync.WaitGroup
			recs := make([]*recorder, callers)
			for i := range callers {
				wg.Go(func() { recs[i] = start(s, ctx, "http://a/slow") })
			}
			wg.Wait() // Fetch does not block: every request has joined or started a fetch
			wantCalls, wantCoalesced := int64(1), uint64(callers-1)
			if !coalesce {
				wantCalls, wantCoalesced = callers, 0
			}
			for range wantCalls {
				<-f.started
			}
			if n := s.Stats.Coalesced.Load(); n != wantCoalesced {
				t.Errorf("Stats.Coalesced = %d before the fetch ended, want %d", n, wantCoalesced)
			}
			close(f.release)
			for _, r := range recs {
				if d := <-r.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{1, 2, 3}) {
					t.Fatalf("a request got %v %v, want ok [1 2 3]", d.nums, d.outcome)
				}
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

// TestCoalescedCallerKeepsItsDeadline: a request joining a flight whose
// leader has a longer deadline stops waiting at its own; the flight still
// delivers it the leader's numbers when it ends.
func TestCoalescedCallerKeepsItsDeadline(t *testing.T) {
	f := newFake(respond("max-age=60", 8))
	f.release = make(chan struct{})
	f.started = make(chan call, 1)
	s := source.New(source.Config{Upstream: plain(f), Coalesce: true})
	leaderCtx, _ := deadline(t, 10*time.Second)
	leader := start(s, leaderCtx, "http://a/x")
	<-f.started

	ctx, dl := deadline(t, 50*time.Millisecond)
	follower := newRecorder()
	s.Fetch(ctx, "http://a/x", follower.deliver)
	if n := s.Stats.Coalesced.Load(); n != 1 {
		t.Fatalf("Stats.Coalesced = %d, want 1", n)
	}
	select {
	case d := <-follower.ch:
		t.Fatalf("follower delivered %v %v while the fetch was blocked", d.nums, d.outcome)
	case <-ctx.Done():
	}
	if late := time.Since(dl); late > slack {
		t.Fatalf("follower returned %v after its deadline", late)
	}
	close(f.release)
	ld, fd := <-leader.ch, <-follower.ch
	if ld.outcome != outcome.OK || !slices.Equal(ld.nums, []int64{8}) {
		t.Fatalf("leader: %v %v, want ok [8]", ld.nums, ld.outcome)
	}
	if fd.outcome != ld.outcome || !slices.Equal(fd.nums, ld.nums) {
		t.Fatalf("follower: %v %v, want the leader's %v %v", fd.nums, fd.outcome, ld.nums, ld.outcome)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("fetcher called %d times, want 1", n)
	}
	waitIdle(t, f)
}

// TestFlightsEnd: once a flight is over, whether its requests waited or gave
// up, the next Fetch of the URL starts a new one: no entry is left behind.
func TestFlightsEnd(t *testing.T) {
	f := newFake(respond("max-age=60", 1))
	s := source.New(source.Config{Upstream: plain(f), Coalesce: true, Background: time.Second}) // no cache
	ctx, _ := deadline(t, 5*time.Second)
	for i := range 3 {
		if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.OK {
			t.Fatalf("fetch %d: %v", i, o)
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("fetcher called %d times, want 3", n)
	}

	// A flight whose request gave up, finished late.
	f.release = make(chan struct{})
	short, _ := deadline(t, 20*time.Millisecond)
	r := start(s, short, "http://a/x")
	<-short.Done()
	close(f.release)
	// The flight leaves the map before it delivers: once delivered, it is gone.
	if d := <-r.ch; d.outcome != outcome.OK {
		t.Fatalf("late delivery: %v, want ok", d.outcome)
	}
	f.release = nil
	if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.OK {
		t.Fatalf("after the late flight: %v, want ok", o)
	}
	if n := f.calls.Load(); n != 5 {
		t.Fatalf("fetcher called %d times, want 5: a Fetch joined an ended flight", n)
	}
	if n := s.Stats.Coalesced.Load(); n != 0 {
		t.Fatalf("Stats.Coalesced = %d with sequential requests, want 0", n)
	}
}

// TestJoinersParkNoGoroutine: 1,000 concurrent requests joining one blocked
// flight leave no goroutine behind each: once they have all joined, the
// flight's goroutine is the only one they added.
func TestJoinersParkNoGoroutine(t *testing.T) {
	const callers = 1000
	f := newFake(respond("max-age=60", 4))
	f.release = make(chan struct{})
	f.started = make(chan call, 1)
	s := source.New(source.Config{Upstream: plain(f), Coalesce: true, Background: time.Second})
	ctx, _ := deadline(t, 10*time.Second)
	before := runtime.NumGoroutine()

	recs := make([]*recorder, callers)
	for i := range recs {
		recs[i] = newRecorder()
	}
	var wg sync.WaitGroup
	for _, r := range recs {
		wg.Go(func() { s.Fetch(ctx, "http://a/slow", r.deliver) })
	}
	<-f.started
	// Polled rather than after wg.Wait, so that a Fetch that blocked would
	// fail the test instead of hanging it; the callers' goroutines exit as
	// soon as they have joined.
	testwait.Eventually(t, "every request to join and its goroutine to exit", func() bool {
		return s.Stats.Coalesced.Load() == callers-1 && runtime.NumGoroutine()-before < 50
	})
	wg.Wait()
	t.Logf("goroutines: %d before, %d with %d requests joined", before, runtime.NumGoroutine(), callers)
	close(f.release)
	for _, r := range recs {
		if d := <-r.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{4}) {
			t.Fatalf("a request got %v %v, want ok [4]", d.nums, d.outcome)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("fetcher called %d times, want 1", n)
	}
	waitIdle(t, f)
}

// TestFollowerOutlivesTheFlight: a request that joined a fetch started by a
// request that stopped waiting earlier (its deadline passed, or it answered
// and cancelled its context) is not handed that fetch's timeout while it
// still has time: it joins a new fetch, bounded by its own deadline.
func TestFollowerOutlivesTheFlight(t *testing.T) {
	for _, leaderEnds := range []string{"deadline", "cancel"} {
		t.Run(leaderEnds, func(t *testing.T) {
			f := newFake(respond("max-age=60", 9))
			f.release = make(chan struct{})
			f.started = make(chan call, 2)
			s := source.New(source.Config{Upstream: plain(f), Coalesce: true}) // no background completion: fetches end with their leader
			leaderCtx, _ := deadline(t, 100*time.Millisecond)
			var cancel context.CancelFunc = func() {}
			if leaderEnds == "cancel" {
				leaderCtx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
			}
			leader := start(s, leaderCtx, "http://a/x")
			first := <-f.started

			followerCtx, followerDeadline := deadline(t, 10*time.Second)
			follower := start(s, followerCtx, "http://a/x")
			cancel()
			if d := <-leader.ch; d.outcome != outcome.Timeout {
				t.Fatalf("leader: %v %v, want timeout", d.nums, d.outcome)
			}
			second := <-f.started // the follower's own fetch
			if !second.deadline.Equal(followerDeadline) || !first.deadline.Before(second.deadline) {
				t.Fatalf("second fetch deadline %v, want the follower's %v (first was %v)", second.deadline, followerDeadline, first.deadline)
			}
			close(f.release)
			if d := <-follower.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{9}) {
				t.Fatalf("follower: %v %v, want ok [9]", d.nums, d.outcome)
			}
			if n := f.calls.Load(); n != 2 {
				t.Fatalf("fetcher called %d times, want 2", n)
			}
			waitIdle(t, f)
		})
	}
}
