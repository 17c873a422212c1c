package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"numbers/outcome"
)

var testHead = []byte("HTTP/1.1 200 OK\r\n\r\n")

// hubFixture is a runner, a hub over its store, and a running job over n
// upstreams that settle when the test says.
type hubFixture struct {
	src   *fakeSource
	r     *Runner
	hub   *Hub
	id    string
	urls  []string
	ended chan Reason
}

func newHubFixture(t *testing.T, n int, cfg HubConfig) *hubFixture {
	t.Helper()
	f := &hubFixture{src: newSource(nil), ended: make(chan Reason, 4096)}
	f.r = NewRunner(RunnerConfig{Source: f.src, Budget: time.Hour})
	cfg.Store = f.r.Store()
	cfg.Ended = func(r Reason) { f.ended <- r }
	f.hub = NewHub(cfg)
	for i := range n {
		f.urls = append(f.urls, fmt.Sprintf("http://u%d.test/", i))
	}
	snap, err := f.r.Start(context.Background(), f.urls, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.id = snap.ID
	t.Cleanup(func() {
		f.r.Stop()
		if err := f.hub.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return f
}

// settle settles upstream i with one number, i.
func (f *hubFixture) settle(t testing.TB, i int) {
	f.src.settle(t, f.urls[i], []int64{int64(i)}, outcome.OK)
}

// watch connects a watcher after event after and returns its client end.
func (f *hubFixture) watch(after uint64) net.Conn {
	server, client := pipe()
	f.hub.Serve(server, f.id, after, testHead, []byte("refused"))
	return client
}

// checkSequence checks that evs are the events from after+1 to done, in
// order, with no gap, no duplicate and nothing else.
func checkSequence(t testing.TB, evs []sseEvent, after uint64, n int) {
	t.Helper()
	var ids []uint64
	for _, ev := range evs {
		if ev.comment != "" {
			continue
		}
		ids = append(ids, ev.id)
	}
	want := uint64(n + 1) // n upstream events, then done
	if uint64(len(ids)) != want-after {
		t.Fatalf("got ids %v; want %d..%d", ids, after+1, want)
	}
	for i, id := range ids {
		if id != after+1+uint64(i) {
			t.Fatalf("got ids %v; want %d..%d with no gap", ids, after+1, want)
		}
	}
	last := evs[len(evs)-1]
	if last.typ != EventDone || !strings.Contains(last.data, `"status":"done"`) {
		t.Fatalf("last event %+v; want done with the final document", last)
	}
}

// followStream reads c's stream to its end, then closes c and hands the
// events, or the error, to got; wg counts it.
func followStream(wg *sync.WaitGroup, c net.Conn, got func([]sseEvent, error)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer c.Close()
		got(readStream(c, nil))
	}()
}

// TestWatchersJoinAnyMoment: 1,000 watchers join one job at random moments
// while its upstreams settle; each sees ids 1..n+1, gap-free, ending with
// done, then the end of the stream.
func TestWatchersJoinAnyMoment(t *testing.T) {
	const watchers, upstreams = 1000, 40
	f := newHubFixture(t, upstreams, HubConfig{})
	rng := rand.New(rand.NewPCG(12, 34))
	// The moments: upstream i settles before watcher joins[i] joins.
	joins := make([]int, upstreams)
	for i := range joins {
		joins[i] = rng.IntN(watchers + 1)
	}
	results := make(chan []sseEvent, watchers)
	errs := make(chan error, watchers)
	var wg sync.WaitGroup
	next := 0
	for w := range watchers {
		for i := range upstreams {
			if joins[i] == w {
				f.settle(t, i)
				next++
			}
		}
		followStream(&wg, f.watch(0), func(evs []sseEvent, err error) {
			if err != nil {
				errs <- err
				return
			}
			results <- evs
		})
	}
	for i := range upstreams {
		if joins[i] == watchers {
			f.settle(t, i)
		}
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var first []sseEvent
	for evs := range results {
		checkSequence(t, evs, 0, upstreams)
		if first == nil {
			first = evs
		}
		for i := range evs {
			if evs[i] != first[i] {
				t.Fatalf("watchers saw different events: %+v and %+v", evs[i], first[i])
			}
		}
	}
	for range watchers {
		if r := <-f.ended; r != EndDone {
			t.Fatalf("a stream ended with %v; want done", r)
		}
	}
	if n := f.hub.Stats.Watchers.Load(); n != 0 {
		t.Fatalf("%d watchers left", n)
	}
	if n := f.hub.Stats.Events.Load(); n != watchers*(upstreams+1) {
		t.Fatalf("%d events sent; want %d", n, watchers*(upstreams+1))
	}
}

// TestLastEventID: a watcher that reconnects with the id of the last event
// it saw gets exactly the rest.
func TestLastEventID(t *testing.T) {
	const upstreams = 6
	f := newHubFixture(t, upstreams, HubConfig{})
	first := f.watch(0)
	got := make(chan sseEvent, 16)
	go readStream(first, got) //nolint:errcheck // ends at Close
	f.settle(t, 0)
	f.settle(t, 1)
	f.settle(t, 2)
	var seen uint64
	for seen < 3 {
		seen = (<-got).id
	}
	first.Close()
	if r := <-f.ended; r != EndGone {
		t.Fatalf("the closed watcher ended with %v; want gone", r)
	}
	f.settle(t, 3)
	again := f.watch(seen)
	done := make(chan []sseEvent, 1)
	go func() {
		evs, _ := readStream(again, nil)
		done <- evs
	}()
	f.settle(t, 4)
	f.settle(t, 5)
	evs := <-done
	again.Close()
	checkSequence(t, evs, 3, upstreams)
}

// TestStalledWatcher: a watcher that never reads holds up neither the job
// nor the other watchers, and is dropped at its write deadline.
func TestStalledWatcher(t *testing.T) {
	const upstreams = 5
	t.Run("others not slowed", func(t *testing.T) {
		// A write deadline far beyond the test: whatever completes, completes
		// while the stalled watcher still blocks.
		f := newHubFixture(t, upstreams, HubConfig{WriteTimeout: time.Hour})
		stalled := f.watch(0) // never read
		defer stalled.Close()
		var wg sync.WaitGroup
		others := make(chan []sseEvent, 10)
		for range 10 {
			followStream(&wg, f.watch(0), func(evs []sseEvent, err error) {
				if err != nil {
					t.Error(err)
				}
				others <- evs
			})
		}
		for i := range upstreams {
			f.settle(t, i)
		}
		waitDone(t, f.r.Store(), f.id) // the job finished: it never waited
		wg.Wait()                      // and every other watcher has all of it
		for range 10 {
			checkSequence(t, <-others, 0, upstreams)
		}
		// A client may read the end of its stream before the hub has
		// forgotten its watcher: the hub reports each end after that.
		for range 10 {
			if r := <-f.ended; r != EndDone {
				t.Fatalf("another watcher ended with %v; want done", r)
			}
		}
		if n := f.hub.Stats.Watchers.Load(); n != 1 {
			t.Fatalf("%d watchers; want only the stalled one", n)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		f := newHubFixture(t, upstreams, HubConfig{WriteTimeout: 10 * time.Millisecond})
		stalled := f.watch(0)
		defer stalled.Close()
		if r := <-f.ended; r != EndStalled {
			t.Fatalf("ended with %v; want stalled", r)
		}
		if f.hub.Stats.Dropped.Load() != 1 || f.hub.Stats.Watchers.Load() != 0 {
			t.Fatalf("stats: dropped %d, watchers %d", f.hub.Stats.Dropped.Load(), f.hub.Stats.Watchers.Load())
		}
		if _, err := stalled.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("the dropped watcher's connection reads %v; want EOF", err)
		}
	})
}

// TestPing: an idle stream gets a ": ping" comment every Ping.
func TestPing(t *testing.T) {
	f := newHubFixture(t, 1, HubConfig{Ping: time.Millisecond})
	c := f.watch(0)
	got := make(chan sseEvent, 64)
	go readStream(c, got) //nolint:errcheck // ends at Close
	for pings := 0; pings < 3; {
		if ev := <-got; ev.comment == "ping" {
			pings++
		}
	}
	c.Close()
	if r := <-f.ended; r != EndGone {
		t.Fatalf("ended with %v; want gone", r)
	}
}

// TestDisconnect: a client that goes away is noticed at once, while nothing
// is being written, and its watcher freed.
func TestDisconnect(t *testing.T) {
	f := newHubFixture(t, 1, HubConfig{Ping: time.Hour})
	c := f.watch(0)
	head := make([]byte, len(testHead))
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := <-f.ended; r != EndGone {
		t.Fatalf("ended with %v; want gone", r)
	}
	if f.hub.Stats.Disconnected.Load() != 1 || f.hub.Stats.Watchers.Load() != 0 {
		t.Fatalf("stats: disconnected %d, watchers %d", f.hub.Stats.Disconnected.Load(), f.hub.Stats.Watchers.Load())
	}
}

// TestHubShutdown: streams end with a final comment, then close; watchers
// arriving later are refused; a stalled stream is cut when ctx ends.
func TestHubShutdown(t *testing.T) {
	f := newHubFixture(t, 2, HubConfig{})
	f.settle(t, 0)
	done := make(chan []sseEvent, 3)
	first := make(chan sseEvent, 6) // every event of the three streams: the first of each, then the final comment
	for range 3 {
		c := f.watch(0)
		go func() {
			defer c.Close()
			evs, _ := readStream(c, first)
			done <- evs
		}()
	}
	for range 3 { // each stream has had its replay before the shutdown begins
		<-first
	}
	stalled := f.watch(0)
	defer stalled.Close()
	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- f.hub.Shutdown(ctx) }()
	for range 3 {
		evs := <-done
		if len(evs) != 2 || evs[0].id != 1 || evs[1].comment != "shutting down" {
			t.Fatalf("stream at shutdown: %+v; want event 1, then the final comment", evs)
		}
	}
	cancel() // the stalled one cannot take its final comment: cut it
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v; want context.Canceled", err)
	}
	server, late := pipe()
	go f.hub.Serve(server, f.id, 0, testHead, []byte("refused"))
	b, _ := io.ReadAll(late)
	if string(b) != "refused" {
		t.Fatalf("a watcher after shutdown read %q; want the refusal", b)
	}
}

// TestLastEventIDPastTheEnd: a watcher that resumes after an id its job
// never reaches (it was cancelled short) gets nothing, and its stream ends
// with the job.
func TestLastEventIDPastTheEnd(t *testing.T) {
	f := newHubFixture(t, 3, HubConfig{})
	c := f.watch(3)
	got := make(chan []sseEvent, 1)
	go func() {
		evs, _ := readStream(c, nil)
		got <- evs
	}()
	if _, err := f.r.Cancel(f.id); err != nil { // done is event 1
		t.Fatal(err)
	}
	if evs := <-got; len(evs) != 0 {
		t.Fatalf("got %+v; want nothing", evs)
	}
	c.Close()
	if r := <-f.ended; r != EndDone {
		t.Fatalf("ended with %v; want done", r)
	}
}

// TestMaxStream: a stream open for MaxStream is closed after the events
// due, before its job is done, and its watcher resumes after the last id it
// read with nothing lost or repeated.
func TestMaxStream(t *testing.T) {
	f := newHubFixture(t, 2, HubConfig{MaxStream: 20 * time.Millisecond})
	f.settle(t, 0)
	first, _ := readStream(f.watch(0), nil) // ends at MaxStream
	if len(first) != 1 || first[0].id != 1 {
		t.Fatalf("first stream: %+v; want event 1 only", first)
	}
	if r := <-f.ended; r != EndExpired {
		t.Fatalf("first stream ended: %v; want EndExpired", r)
	}
	f.settle(t, 1)
	var rest []sseEvent
	for last := first[0].id; ; { // the job's end may take a stream or two more
		evs, _ := readStream(f.watch(last), nil)
		rest = append(rest, evs...)
		if len(evs) > 0 && evs[len(evs)-1].typ == EventDone {
			break
		}
		if len(evs) > 0 {
			last = evs[len(evs)-1].id
		}
	}
	checkSequence(t, rest, 1, 2)
}
