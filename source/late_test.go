package source_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"numbers/cache"
	"numbers/internal/testwait"
	"numbers/outcome"
	"numbers/source"
)

// slack bounds how long past its deadline a caller may take to return: far
// above any scheduling delay, far below the fetches the tests block.
const slack = time.Second

// TestDeadlineWhileFetchBlocks: the caller's deadline passes while the fetch
// hangs; it returns at that deadline with Timeout, or Stale when an entry
// allows it.
func TestDeadlineWhileFetchBlocks(t *testing.T) {
	for _, p := range paths {
		for _, withEntry := range []bool{false, true} {
			name := p.name + "/no entry"
			want := outcome.Timeout
			if withEntry {
				name, want = p.name+"/stale entry", outcome.Stale
			}
			t.Run(name, func(t *testing.T) {
				f := newFake(respond("max-age=60", 1))
				f.release = make(chan struct{})
				c := cache.New(cache.Config{})
				if withEntry {
					hold(c, "http://a/x", []int64{9}, "max-age=0")
				}
				s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: p.coalesce, Background: p.late})
				ctx, dl := deadline(t, 50*time.Millisecond)
				nums, o := fetchSync(t, s, ctx, "http://a/x")
				if late := time.Since(dl); late > slack {
					t.Errorf("returned %v after its deadline", late)
				}
				if o != want || (withEntry && !slices.Equal(nums, []int64{9})) {
					t.Errorf("got %v %v, want %v", nums, o, want)
				}
				close(f.release)
				waitIdle(t, f)
			})
		}
	}
}

// TestCancelEndsFetch: cancelling a request's context before its deadline
// ends its fetch at once (the request has stopped waiting), unless the fetch
// got a late place: then it is detached from the request and runs on to
// deliver and store its result.
func TestCancelEndsFetch(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(respond("max-age=60", 1))
			f.release = make(chan struct{})
			f.started = make(chan call, 1)
			c := cache.New(cache.Config{})
			s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: p.coalesce, Background: p.late})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r := start(s, ctx, "http://a/x")
			<-f.started
			cancel()
			if p.late == 0 {
				if d := <-r.ch; d.outcome != outcome.Timeout || d.nums != nil {
					t.Fatalf("got %v %v, want timeout: the fetch ends with its request", d.nums, d.outcome)
				}
				close(f.release)
				waitIdle(t, f)
				return
			}
			close(f.release)
			if d := <-r.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{1}) {
				t.Fatalf("got %v %v, want ok [1]: a late fetch outlives its request", d.nums, d.outcome)
			}
			if _, ok := c.Fresh("http://a/x"); !ok {
				t.Fatal("the late fetch's result is not in the cache")
			}
			waitIdle(t, f)
		})
	}
}

// TestLateCompletion: the caller gives up, the fetch finishes afterwards in
// the background, and its result serves the next request from the cache.
func TestLateCompletion(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "coalesce"}[coalesce], func(t *testing.T) {
			f := newFake(respond("max-age=60", 5, 6))
			f.release = make(chan struct{})
			f.started = make(chan call, 1)
			c := cache.New(cache.Config{})
			s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: coalesce, Background: 10 * time.Second})
			ctx, dl := deadline(t, 50*time.Millisecond)
			r := start(s, ctx, "http://a/x")
			got := <-f.started
			if want := dl.Add(10 * time.Second); !got.deadline.Equal(want) {
				t.Fatalf("fetch deadline %v, want caller's plus the background window %v", got.deadline, want)
			}
			<-ctx.Done()
			if _, o := s.Abandon("http://a/x"); o != outcome.Timeout {
				t.Fatalf("Abandon = %v before the fetch ended, want timeout", o)
			}
			select {
			case d := <-r.ch:
				t.Fatalf("delivered %v %v while the fetch was blocked", d.nums, d.outcome)
			default:
			}
			close(f.release)
			// The request's deliver is still called, after its deadline.
			if d := <-r.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{5, 6}) {
				t.Fatalf("late delivery: %v %v, want ok [5 6]", d.nums, d.outcome)
			}
			testwait.Eventually(t, "the late fetch to be stored", func() bool { return s.Stats.LateStored.Load() == 1 })
			ctx2, _ := deadline(t, 50*time.Millisecond)
			if nums, o := fetchSync(t, s, ctx2, "http://a/x"); o != outcome.Cached || !slices.Equal(nums, []int64{5, 6}) {
				t.Fatalf("next: %v %v, want cached [5 6]", nums, o)
			}
			if n := f.calls.Load(); n != 1 {
				t.Fatalf("fetcher called %d times, want 1", n)
			}
			if n := s.Stats.LateCancelled.Load(); n != 0 {
				t.Fatalf("LateCancelled = %d, want 0", n)
			}
			waitIdle(t, f)
		})
	}
}

// TestLateNoStore: a late response that forbids storing is not stored.
func TestLateNoStore(t *testing.T) {
	f := newFake(respond("no-store", 1))
	f.release = make(chan struct{})
	c := cache.New(cache.Config{})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Background: 10 * time.Second})
	ctx, _ := deadline(t, 20*time.Millisecond)
	fetchSync(t, s, ctx, "http://a/x")
	close(f.release)
	waitIdle(t, f)
	testwait.Eventually(t, "the late response to reach the cache", func() bool { return c.Stats().Rejected == 1 })
	if c.Len() != 0 || s.Stats.LateStored.Load() != 0 {
		t.Fatalf("no-store stored: %d entries, LateStored %d", c.Len(), s.Stats.LateStored.Load())
	}
}

// TestNoBackground: no fetch outlives its caller's deadline.
func TestNoBackground(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "coalesce"}[coalesce], func(t *testing.T) {
			f := newFake(respond("max-age=60", 1))
			f.release = make(chan struct{}) // never closed: only the deadline ends the fetch
			f.started = make(chan call, 1)
			s := source.New(source.Config{Upstream: plain(f), Cache: cache.New(cache.Config{}), Coalesce: coalesce})
			ctx, dl := deadline(t, 50*time.Millisecond)
			if _, o := fetchSync(t, s, ctx, "http://a/x"); o != outcome.Timeout {
				t.Fatalf("got %v, want timeout", o)
			}
			if got := <-f.started; !got.hasDeadline || !got.deadline.Equal(dl) {
				t.Fatalf("fetch deadline %v, want the caller's %v", got.deadline, dl)
			}
			waitIdle(t, f)
			if s.Stats.LateCancelled.Load() != 0 || s.Stats.LateStored.Load() != 0 {
				t.Fatalf("late counters moved with the feature off: %d cancelled, %d stored",
					s.Stats.LateCancelled.Load(), s.Stats.LateStored.Load())
			}
		})
	}
}

// TestMaxLate: with one late place, taken by a first slow fetch when its
// caller stopped waiting, a second one ends at its caller's deadline and is
// counted as cancelled.
func TestMaxLate(t *testing.T) {
	f := newFake(respond("max-age=60", 1))
	f.release = make(chan struct{})
	f.started = make(chan call, 2)
	c := cache.New(cache.Config{})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Coalesce: true, Background: 10 * time.Second, MaxBackground: 1})

	ctxA, dlA := deadline(t, 50*time.Millisecond)
	if _, o := fetchSync(t, s, ctxA, "http://a/slow1"); o != outcome.Timeout {
		t.Fatalf("first: %v, want timeout", o)
	}
	if got := <-f.started; !got.deadline.Equal(dlA.Add(10 * time.Second)) {
		t.Fatalf("first fetch deadline %v, want %v", got.deadline, dlA.Add(10*time.Second))
	}

	ctxB, dlB := deadline(t, 50*time.Millisecond)
	if _, o := fetchSync(t, s, ctxB, "http://a/slow2"); o != outcome.Timeout {
		t.Fatalf("second: %v, want timeout", o)
	}
	if got := <-f.started; !got.deadline.Equal(dlB.Add(10 * time.Second)) {
		t.Fatalf("second fetch deadline %v, want %v (cut when its caller stopped waiting)", got.deadline, dlB.Add(10*time.Second))
	}
	testwait.Eventually(t, "the second fetch to be counted", func() bool { return s.Stats.LateCancelled.Load() == 1 })

	close(f.release)
	testwait.Eventually(t, "the first fetch to be stored", func() bool { return s.Stats.LateStored.Load() == 1 })
	if _, ok := c.Fresh("http://a/slow2"); ok {
		t.Fatal("the cancelled fetch was stored")
	}
	waitIdle(t, f)

	// The place is free again.
	f.release = nil
	ctxC, _ := deadline(t, 5*time.Second)
	if _, o := fetchSync(t, s, ctxC, "http://a/slow2"); o != outcome.OK {
		t.Fatalf("third: %v, want ok", o)
	}
}

// TestLatePlaceWhenCallerStops: the late place is taken when a fetch's
// caller stops waiting, not when the fetch starts. With one place, a fetch
// still within a long budget does not hold it: a second fetch, whose caller
// gives up first, takes it and finishes in the background.
func TestLatePlaceWhenCallerStops(t *testing.T) {
	f := newFake(respond("max-age=60", 1))
	f.release = make(chan struct{})
	f.started = make(chan call, 2)
	c := cache.New(cache.Config{})
	s := source.New(source.Config{Upstream: plain(f), Cache: c, Background: 10 * time.Second, MaxBackground: 1})

	ctxA, _ := deadline(t, time.Hour)
	a := start(s, ctxA, "http://a/patient")
	<-f.started
	ctxB, _ := deadline(t, 50*time.Millisecond)
	if _, o := fetchSync(t, s, ctxB, "http://a/hasty"); o != outcome.Timeout {
		t.Fatalf("hasty: %v, want timeout", o)
	}
	<-f.started

	close(f.release)
	if d := <-a.ch; d.outcome != outcome.OK {
		t.Fatalf("patient: %v, want ok", d.outcome)
	}
	testwait.Eventually(t, "the hasty fetch to finish late and be stored", func() bool { return s.Stats.LateStored.Load() == 1 })
	if n := s.Stats.LateCancelled.Load(); n != 0 {
		t.Fatalf("LateCancelled = %d, want 0: the place was free when the hasty caller stopped waiting", n)
	}
	waitIdle(t, f)
}
