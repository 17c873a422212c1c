package jobs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"numbers/outcome"
)

// waitDone waits for job id's log to end and returns its events.
func waitDone(t testing.TB, s Store, id string) []Event {
	t.Helper()
	for {
		evs, more, err := s.Events(id, 0)
		if err != nil {
			t.Fatalf("events of %s: %v", id, err)
		}
		if more == nil {
			return evs
		}
		<-more
	}
}

// waitEvents waits until job id's log has at least n events.
func waitEvents(t testing.TB, s Store, id string, n int) {
	t.Helper()
	for {
		evs, more, err := s.Events(id, 0)
		if err != nil {
			t.Fatalf("events of %s: %v", id, err)
		}
		if len(evs) >= n || more == nil {
			return
		}
		<-more
	}
}

// upstreamEvents renders the upstream events' data, in order.
func upstreamEvents(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type == EventUpstream {
			out = append(out, string(ev.Data))
		}
	}
	return out
}

func checkIDs(t testing.TB, evs []Event) {
	t.Helper()
	for i, ev := range evs {
		if ev.ID != uint64(i+1) {
			t.Fatalf("event %d has id %d: ids must count from 1 with no gap", i, ev.ID)
		}
	}
	if len(evs) == 0 || evs[len(evs)-1].Type != EventDone {
		t.Fatalf("log does not end with done: %v", evs)
	}
}

func TestRunnerJob(t *testing.T) {
	src := newSource(map[string]answer{
		"http://a/": {numbers: []int64{1, 3}},
		"http://b/": {outcome: outcome.Failed},
	})
	r := NewRunner(RunnerConfig{Source: src})
	defer r.Stop()
	snap, err := r.Start(context.Background(), []string{"http://a/", "http://b/", "http://c/"}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != Running || snap.Total != 3 || snap.Outcomes[outcome.Invalid] != 2 || snap.Deadline.Sub(snap.Created) != 30*time.Second {
		t.Fatalf("first document %+v", snap)
	}
	src.settle(t, "http://c/", []int64{2, 3, 4}, outcome.Cached)
	evs := waitDone(t, r.Store(), snap.ID)
	checkIDs(t, evs)
	want := []string{
		`{"url":"http://a/","outcome":"ok","count":2}`,
		`{"url":"http://b/","outcome":"failed","count":0}`,
		`{"url":"http://c/","outcome":"cached","count":3}`,
	}
	if got := upstreamEvents(evs); !slices.Equal(got, want) {
		t.Fatalf("events %q; want %q", got, want)
	}
	final, _ := r.Store().Get(snap.ID)
	if final.State != Done || final.Settled != 3 || final.Complete() || !slices.Equal(final.Numbers, []int64{1, 2, 3, 4}) {
		t.Fatalf("final document %+v", final)
	}
	if got := string(evs[len(evs)-1].Data); got != string(AppendJSON(nil, final)) {
		t.Fatalf("done data %s; want the final document", got)
	}
	if err := src.ctxOf("http://a/").Err(); err == nil {
		t.Fatal("the job's fetch context outlived the job")
	}
}

func TestRunnerDeadline(t *testing.T) {
	src := newSource(map[string]answer{"http://a/": {numbers: []int64{1}}})
	src.stale = map[string][]int64{"http://s/": {7}}
	r := NewRunner(RunnerConfig{Source: src})
	defer r.Stop()
	snap, err := r.Start(context.Background(), []string{"http://a/", "http://s/", "http://t/"}, 0, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	evs := waitDone(t, r.Store(), snap.ID)
	checkIDs(t, evs)
	final, _ := r.Store().Get(snap.ID)
	if final.State != Done || final.Settled != 3 || final.Outcomes[outcome.Stale] != 1 || final.Outcomes[outcome.Timeout] != 1 ||
		!slices.Equal(final.Numbers, []int64{1, 7}) {
		t.Fatalf("document after the deadline %+v", final)
	}
	if !errors.Is(src.ctxOf("http://t/").Err(), context.DeadlineExceeded) {
		t.Fatal("the pending fetch was not ended at the job's deadline")
	}
}

func TestRunnerCancel(t *testing.T) {
	src := newSource(map[string]answer{"http://a/": {numbers: []int64{1}}})
	r := NewRunner(RunnerConfig{Source: src})
	defer r.Stop()
	snap, err := r.Start(context.Background(), []string{"http://a/", "http://b/"}, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, r.Store(), snap.ID, 1)
	got, err := r.Cancel(snap.ID)
	if err != nil || got.State != Cancelled || got.Settled != 1 {
		t.Fatalf("Cancel: %+v, %v", got, err)
	}
	if src.ctxOf("http://b/").Err() == nil {
		t.Fatal("cancel left the fetch running")
	}
	evs := waitDone(t, r.Store(), snap.ID)
	checkIDs(t, evs)
	if len(evs) != 2 {
		t.Fatalf("events %v; want the settled upstream and done", evs)
	}
	// Cancelling again, or a finished job, leaves it as it is.
	if again, err := r.Cancel(snap.ID); err != nil || again.State != Cancelled {
		t.Fatalf("second Cancel: %+v, %v", again, err)
	}
	if _, err := r.Cancel(NewID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Cancel unknown: %v; want ErrNotFound", err)
	}
}

func TestRunnerFull(t *testing.T) {
	src := newSource(nil)
	r := NewRunner(RunnerConfig{Source: src, Store: NewMemStore(MemConfig{MaxJobs: 1})})
	defer r.Stop()
	if _, err := r.Start(context.Background(), []string{"http://a/"}, 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	src.fetch = make(chan string, 1)
	if _, err := r.Start(context.Background(), []string{"http://b/"}, 0, time.Hour); !errors.Is(err, ErrFull) {
		t.Fatalf("Start on a full store: %v; want ErrFull", err)
	}
	select {
	case u := <-src.fetch:
		t.Fatalf("a refused job fetched %s", u)
	default:
	}
}

func TestRunnerClose(t *testing.T) {
	src := newSource(nil)
	r := NewRunner(RunnerConfig{Source: src})
	snap, err := r.Start(context.Background(), []string{"http://a/"}, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if got, _ := r.Store().Get(snap.ID); got.State != Cancelled {
		t.Fatalf("after Close the job is %v; want cancelled", got.State)
	}
	if _, err := r.Start(context.Background(), []string{"http://a/"}, 0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v; want ErrClosed", err)
	}
	if p := r.Prepare(context.Background(), []string{"http://a/"}, 0, time.Now()); p != nil {
		t.Fatal("Prepare after Close returned a job")
	}
}

func TestPending(t *testing.T) {
	src := newSource(map[string]answer{"http://a/": {numbers: []int64{5, 6}}})
	r := NewRunner(RunnerConfig{Source: src, Budget: time.Hour})
	defer r.Stop()

	p := r.Prepare(context.Background(), []string{"http://a/", "http://b/"}, 1, time.Now())
	pr := p.Progress()
	for len(pr.Pending) == 2 { // until the instant one is merged
		<-pr.Changed
		pr = p.Progress()
	}
	if !slices.Equal(pr.Numbers, []int64{5, 6}) || pr.Counts[outcome.OK] != 1 || pr.Counts[outcome.Invalid] != 0 ||
		!slices.Equal(pr.Pending, []string{"http://b/"}) {
		t.Fatalf("progress %+v", pr)
	}
	if _, err := r.Store().Get(p.ID()); !errors.Is(err, ErrNotFound) {
		t.Fatal("a prepared job is visible before Commit")
	}
	snap, err := p.Commit()
	if err != nil || snap.Settled != 1 || snap.Outcomes[outcome.Invalid] != 1 {
		t.Fatalf("Commit: %+v, %v", snap, err)
	}
	src.settle(t, "http://b/", []int64{1}, outcome.OK)
	<-pr.Changed
	evs := waitDone(t, r.Store(), p.ID())
	checkIDs(t, evs)
	want := []string{`{"url":"http://a/","outcome":"ok","count":2}`, `{"url":"http://b/","outcome":"ok","count":1}`}
	if got := upstreamEvents(evs); !slices.Equal(got, want) {
		t.Fatalf("events %q; want %q (the one settled before Commit included)", got, want)
	}
	final, _ := r.Store().Get(p.ID())
	if !final.Complete() || !slices.Equal(final.Numbers, []int64{1, 5, 6}) {
		t.Fatalf("final %+v", final)
	}

	d := r.Prepare(context.Background(), []string{"http://c/"}, 0, time.Now())
	d.Discard()
	if src.ctxOf("http://c/").Err() == nil {
		t.Fatal("Discard left the fetch running")
	}
	if _, err := r.Store().Get(d.ID()); !errors.Is(err, ErrNotFound) {
		t.Fatal("a discarded job was stored")
	}
}
