package source_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/internal/testwait"
	"numbers/outcome"
	"numbers/resilience"
	"numbers/source"
)

func TestEjectedHostAnsweredAtOnce(t *testing.T) {
	for _, withEntry := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale entry %v", withEntry), func(t *testing.T) {
			reg := ejected(t, newFakeClock())
			c := cache.New(cache.Config{})
			want := outcome.Ejected
			if withEntry {
				hold(c, upstream+"/x", []int64{9}, "max-age=0")
				want = outcome.Stale
			}
			f := newScript(ok(1))
			s := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: f, Detector: reg}), Cache: c, Coalesce: true})
			ctx, _ := deadline(t, time.Minute)
			began := time.Now()
			nums, o := fetchSync(t, s, ctx, upstream+"/x")
			if o != want || (withEntry && !slices.Equal(nums, []int64{9})) {
				t.Errorf("got %v %v; want %v", nums, o, want)
			}
			if d := time.Since(began); d > 100*time.Millisecond {
				t.Errorf("answered after %v; want at once", d)
			}
			if n := f.calls.Load(); n != 0 {
				t.Errorf("the ejected host was asked %d times", n)
			}
		})
	}
}

func TestTrialRunsInTheBackground(t *testing.T) {
	clock := newFakeClock()
	reg := ejected(t, clock)
	clock.advance(time.Second) // half-open
	release := make(chan struct{})
	f := newScript(block(release, nil, fresh(4)), ok(5))
	c := cache.New(cache.Config{})
	link := resilience.New(resilience.Config{Fetcher: f, Detector: reg})
	s := source.New(source.Config{Upstream: link, Cache: c, Coalesce: true})
	ctx, _ := deadline(t, time.Minute)

	if _, o := fetchSync(t, s, ctx, upstream+"/x"); o != outcome.Ejected {
		t.Fatalf("the request that sent the trial got %v; want ejected, at once", o)
	}
	<-f.started // the trial is under way, and nobody waits for it
	if _, o := fetchSync(t, s, ctx, upstream+"/y"); o != outcome.Ejected {
		t.Fatalf("a request during the trial got %v; want ejected", o)
	}
	close(release)
	testwait.Eventually(t, "the trial's success to restore the host", func() bool { return reg.State(upstream) == resilience.Healthy })
	if nums, o := fetchSync(t, s, ctx, upstream+"/x"); o != outcome.Cached || !slices.Equal(nums, []int64{4}) {
		t.Errorf("after the trial got %v %v; want its result, cached", nums, o)
	}
	if nums, o := fetchSync(t, s, ctx, upstream+"/z"); o != outcome.OK || !slices.Equal(nums, []int64{5}) {
		t.Errorf("after the trial got %v %v; want a live fetch", nums, o)
	}
	if got := link.Stats.Probes.Load(); got != 1 {
		t.Errorf("Probes = %d; want 1", got)
	}
}

func TestFailedTrialKeepsTheHostOut(t *testing.T) {
	clock := newFakeClock()
	reg := ejected(t, clock)
	clock.advance(time.Second)
	f := newScript(status(503))
	s := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: f, Detector: reg}), Coalesce: true})
	ctx, _ := deadline(t, time.Minute)
	fetchSync(t, s, ctx, upstream+"/x")
	testwait.Eventually(t, "the trial to end", func() bool { return reg.Hosts()[resilience.HalfOpen] == 1 && f.calls.Load() == 1 })
	fetchSync(t, s, ctx, upstream+"/x")
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests within one probe interval; want 1", n)
	}
	clock.advance(time.Second)
	fetchSync(t, s, ctx, upstream+"/x")
	testwait.Eventually(t, "the second trial", func() bool { return f.calls.Load() == 2 })
}

func TestFetchesTellHealth(t *testing.T) {
	cases := []struct {
		name    string
		reply   step
		want    resilience.State
		tracked bool
	}{
		{"503", status(503), resilience.Ejected, true},
		{"refused", refused, resilience.Ejected, true},
		{"timeout", block(nil, nil, ok()), resilience.Ejected, true},
		{"404 is the URL's fault", status(404), resilience.Healthy, true},
		{"bad body is the URL's fault", failKind(fetcher.ErrBody, fetcher.ErrBody), resilience.Healthy, true},
		{"denied never reached the host", failKind(fetcher.ErrDenied, fetcher.ErrDenied), resilience.Healthy, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := resilience.NewDetector(resilience.OutlierConfig{})
			s := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: newScript(tc.reply), Detector: reg})})
			for i := range 5 {
				ctx, _ := deadline(t, 20*time.Millisecond)
				fetchSync(t, s, ctx, fmt.Sprintf("%s/%d", upstream, i))
			}
			testwait.Eventually(t, "the fifth result", func() bool { return reg.State(upstream) == tc.want })
			if tracked := reg.Len() == 1; tracked != tc.tracked {
				t.Errorf("tracked = %v; want %v", tracked, tc.tracked)
			}
		})
	}
}

// TestLateFetchTimesOutForHealth: fetches that go on in the background after
// their requests stopped waiting count as timeouts when the requests stop,
// so that a host that never answers is ejected within one budget, not one
// background window.
func TestLateFetchTimesOutForHealth(t *testing.T) {
	reg := resilience.NewDetector(resilience.OutlierConfig{})
	release := make(chan struct{})
	f := newScript(block(release, nil, ok(1)))
	s := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: f, Detector: reg}), Coalesce: true, Background: time.Minute})
	for i := range 5 {
		ctx, _ := deadline(t, 10*time.Millisecond)
		if _, o := fetchSync(t, s, ctx, fmt.Sprintf("%s/%d", upstream, i)); o != outcome.Timeout {
			t.Fatalf("got %v; want timeout", o)
		}
	}
	testwait.Eventually(t, "the ejection", func() bool { return reg.State(upstream) == resilience.Ejected })
	close(release) // the late answers come; they were already counted as timeouts
	waitCalls := f.calls.Load()
	ctx, _ := deadline(t, time.Minute)
	if _, o := fetchSync(t, s, ctx, upstream+"/next"); o != outcome.Ejected {
		t.Errorf("got %v; want ejected", o)
	}
	if f.calls.Load() != waitCalls {
		t.Error("the ejected host was asked")
	}
	testwait.Eventually(t, "the late fetches to end", func() bool { return s.Stats.LateStored.Load() == 0 && reg.State(upstream) == resilience.Ejected })
}

func TestRetries(t *testing.T) {
	cases := []struct {
		name     string
		steps    []step
		cfg      func(*resilience.Config)
		want     outcome.Outcome
		calls    int64
		retries  uint64
		latency  time.Duration // the host's latency estimate, if any
		deadline time.Duration
	}{
		{"503 then ok", []step{status(503), ok(1)}, nil, outcome.OK, 2, 1, 0, time.Minute},
		{"refused then ok", []step{refused, ok(1)}, nil, outcome.OK, 2, 1, 0, time.Minute},
		{"502 twice: once only", []step{status(502)}, nil, outcome.Failed, 2, 1, 0, time.Minute},
		{"never a 4xx", []step{status(404), ok(1)}, nil, outcome.Failed, 1, 0, 0, time.Minute},
		{"never a 500", []step{status(500), ok(1)}, nil, outcome.Failed, 1, 0, 0, time.Minute},
		{"off", []step{status(503), ok(1)}, func(c *resilience.Config) { c.Retry = false }, outcome.Failed, 1, 0, 0, time.Minute},
		{"no budget", []step{status(503), ok(1)}, func(c *resilience.Config) { c.Budget = nil }, outcome.Failed, 1, 0, 0, time.Minute},
		{"budget spent", []step{status(503), ok(1)}, func(c *resilience.Config) {
			c.Budget = resilience.NewRetryBudget(resilience.RetryBudgetConfig{MinPerSecond: -1})
		}, outcome.Failed, 1, 0, 0, time.Minute},
		{"no time left for the host's median", []step{status(503), ok(1)}, nil, outcome.Failed, 1, 0, time.Second, 500 * time.Millisecond},
		{"time left for the host's median", []step{status(503), ok(1)}, nil, outcome.OK, 2, 1, 10 * time.Millisecond, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := resilience.NewDetector(resilience.OutlierConfig{})
			for range 50 * min(tc.latency, 1) {
				reg.Success(upstream, tc.latency)
			}
			f := newScript(tc.steps...)
			lc := resilience.Config{Fetcher: f, Detector: reg, Budget: resilience.NewRetryBudget(resilience.RetryBudgetConfig{}), Retry: true}
			if tc.cfg != nil {
				tc.cfg(&lc)
			}
			link := resilience.New(lc)
			s := source.New(source.Config{Upstream: link})
			ctx, _ := deadline(t, tc.deadline)
			if _, o := fetchSync(t, s, ctx, upstream+"/x"); o != tc.want {
				t.Errorf("outcome %v; want %v", o, tc.want)
			}
			if n := f.calls.Load(); n != tc.calls {
				t.Errorf("%d requests; want %d", n, tc.calls)
			}
			if n := link.Stats.Retries.Load(); n != tc.retries {
				t.Errorf("Retries = %d; want %d", n, tc.retries)
			}
		})
	}
}

// hedging returns a Source over f that hedges, its host's latency known to
// be p95 (every answer took that long), and its upstream link.
func hedging(f resilience.Fetcher, p95 time.Duration, b *resilience.RetryBudget, coalesce bool) (*source.Source, *resilience.Link) {
	reg := resilience.NewDetector(resilience.OutlierConfig{})
	for range 50 {
		reg.Success(upstream, p95)
	}
	link := resilience.New(resilience.Config{Fetcher: f, Detector: reg, Budget: b, Hedge: true, Retry: true})
	return source.New(source.Config{Upstream: link, Coalesce: coalesce}), link
}

func TestHedgeWinsAndTheFirstIsCancelled(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	f := newScript(block(nil, cancelled, ok(1)), ok(7))
	s, link := hedging(f, time.Millisecond, resilience.NewRetryBudget(resilience.RetryBudgetConfig{}), true)
	ctx, _ := deadline(t, time.Minute)
	if nums, o := fetchSync(t, s, ctx, upstream+"/x"); o != outcome.OK || !slices.Equal(nums, []int64{7}) {
		t.Fatalf("got %v %v; want the hedge's answer", nums, o)
	}
	<-cancelled // the first request ended with its context, not the request's
	if h, w := link.Stats.Hedges.Load(), link.Stats.HedgesWon.Load(); h != 1 || w != 1 {
		t.Errorf("Hedges, HedgesWon = %d, %d; want 1, 1", h, w)
	}
}

func TestNoHedgeForAFastAnswer(t *testing.T) {
	f := newScript(ok(1))
	s, link := hedging(f, time.Second, resilience.NewRetryBudget(resilience.RetryBudgetConfig{}), true)
	ctx, _ := deadline(t, time.Minute)
	fetchSync(t, s, ctx, upstream+"/x")
	if n := f.calls.Load(); n != 1 || link.Stats.Hedges.Load() != 0 {
		t.Errorf("%d requests, %d hedges for an answer well within the p95; want 1, 0", n, link.Stats.Hedges.Load())
	}
}

func TestNoHedgeWithoutBudget(t *testing.T) {
	f := newScript(block(nil, nil, ok()), ok(7))
	b := resilience.NewRetryBudget(resilience.RetryBudgetConfig{MinPerSecond: -1})
	s, _ := hedging(f, time.Millisecond, b, true)
	ctx, _ := deadline(t, 50*time.Millisecond)
	if _, o := fetchSync(t, s, ctx, upstream+"/x"); o != outcome.Timeout {
		t.Errorf("got %v; want timeout", o)
	}
	testwait.Eventually(t, "the fetch to end", func() bool { return b.Stats.Exhausted.Load() == 1 })
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests; want 1: the budget had no token", n)
	}
}

func TestHedgeFailsThenFirstAnswers(t *testing.T) {
	release := make(chan struct{})
	f := newScript(block(release, nil, ok(1)), status(503))
	s, _ := hedging(f, time.Millisecond, resilience.NewRetryBudget(resilience.RetryBudgetConfig{}), true)
	ctx, _ := deadline(t, time.Minute)
	r := start(s, ctx, upstream+"/x")
	<-f.started
	<-f.started // the hedge, which fails at once
	close(release)
	if d := <-r.ch; d.outcome != outcome.OK || !slices.Equal(d.nums, []int64{1}) {
		t.Errorf("got %v; want the first request's answer", d)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d requests; want 2: no retry after a hedge", n)
	}
}

// TestHedgeBelongsToTheFlight: ten requests share one fetch, which sends
// one hedge, not ten.
func TestHedgeBelongsToTheFlight(t *testing.T) {
	release := make(chan struct{})
	f := newScript(block(release, nil, ok(1)), block(release, nil, ok(2)), ok(3))
	s, link := hedging(f, 5*time.Millisecond, resilience.NewRetryBudget(resilience.RetryBudgetConfig{}), true)
	ctx, _ := deadline(t, time.Minute)
	var recs []*recorder
	for range 10 {
		recs = append(recs, start(s, ctx, upstream+"/x"))
	}
	<-f.started
	<-f.started
	close(release)
	for _, r := range recs {
		if d := <-r.ch; d.outcome != outcome.OK {
			t.Errorf("got %v; want ok", d)
		}
	}
	if n := f.calls.Load(); n != 2 || link.Stats.Hedges.Load() != 1 {
		t.Errorf("%d requests, %d hedges for one shared fetch; want 2, 1", n, link.Stats.Hedges.Load())
	}
}
