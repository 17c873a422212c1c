package jobs

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/outcome"
	"numbers/source"
)

// gatedFetcher answers every fetch with its numbers once released, cacheable
// for a minute, and counts the fetches.
type gatedFetcher struct {
	release chan struct{}
	entered chan struct{}
	calls   atomic.Int64
}

func (f *gatedFetcher) Fetch(ctx context.Context, url string) (fetcher.Response, error) {
	f.calls.Add(1)
	f.entered <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return fetcher.Response{}, ctx.Err()
	}
	now := time.Now()
	return fetcher.Response{Numbers: []int64{4, 2}[1:], CacheControl: "max-age=60", Sent: now, Received: now}, nil
}

// TestJobsShareTheSource: a job and a /numbers-like request for the same URL
// share one upstream fetch (coalescing), and a later job is answered from
// the cache.
func TestJobsShareTheSource(t *testing.T) {
	f := &gatedFetcher{release: make(chan struct{}), entered: make(chan struct{}, 4)}
	src := source.New(source.Config{Fetcher: f, Cache: cache.New(cache.Config{}), Coalesce: true})
	r := NewRunner(RunnerConfig{Source: src})
	defer r.Close()
	const u = "http://shared.test/"

	snap, err := r.Start([]string{u}, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	<-f.entered
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := make(chan outcome.Outcome, 1)
	src.Fetch(ctx, u, func(_ []int64, o outcome.Outcome) { got <- o })
	close(f.release)
	if o := <-got; o != outcome.OK {
		t.Fatalf("the request sharing the job's fetch got %v", o)
	}
	waitDone(t, r.Store(), snap.ID)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d upstream fetches; want 1, shared", n)
	}

	second, err := r.Start([]string{u}, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, r.Store(), second.ID)
	final, _ := r.Store().Get(second.ID)
	if final.Outcomes[outcome.Cached] != 1 || !slices.Equal(final.Numbers, []int64{2}) || f.calls.Load() != 1 {
		t.Fatalf("second job %+v after %d fetches; want it cached", final, f.calls.Load())
	}
}
