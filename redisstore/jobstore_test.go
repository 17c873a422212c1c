package redisstore

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"numbers/jobs"
	"numbers/outcome"
)

// clock is a fake clock for leases.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// lostIDs collects what a store's Lost was told.
type lostIDs struct {
	mu  sync.Mutex
	ids []string
}

func (l *lostIDs) add(id string) { l.mu.Lock(); l.ids = append(l.ids, id); l.mu.Unlock() }
func (l *lostIDs) get() []string { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.ids) }

// replicas returns two job stores on one Redis, as two replicas have, with
// manual maintenance on clk and a short block.
func replicas(t *testing.T, clk *clock) (a, b *JobStore, lostA *lostIDs) {
	t.Helper()
	lostA = &lostIDs{}
	c := open(t, srv.URL)
	cfg := JobConfig{Lease: 5 * time.Second, Interval: -1, Block: 200 * time.Millisecond, Now: clk.now}
	cfg.Owner, cfg.Lost = "a", lostA.add
	a = c.Jobs(cfg)
	cfg.Owner, cfg.Lost = "b", nil
	b = c.Jobs(cfg)
	t.Cleanup(func() { a.Stop(); b.Stop() })
	return a, b, lostA
}

// newJob returns the first document of a running job over n upstreams.
func newJob(n int) *jobs.Snapshot {
	now := time.Now()
	return &jobs.Snapshot{ID: jobs.NewID(), State: jobs.Running, Created: now, Deadline: now.Add(30 * time.Second), Total: n}
}

// begin creates a job of n upstreams through st and settles the first one
// with nums.
func begin(t *testing.T, st *JobStore, n int, nums ...int64) *jobs.Snapshot {
	t.Helper()
	s := newJob(n)
	if err := st.Create(s, nil); err != nil {
		t.Fatal(err)
	}
	settle(t, st, s, 1, nums...)
	return s
}

// settle publishes upstream event id of s through st.
func settle(t *testing.T, st *JobStore, s *jobs.Snapshot, id uint64, nums ...int64) {
	t.Helper()
	next := *s
	next.Settled++
	next.Outcomes[outcome.OK]++
	next.Numbers = append(slices.Clone(s.Numbers), nums...)
	*s = next
	if err := st.Publish(s.ID, &next, jobs.Event{ID: id, Type: jobs.EventUpstream, Data: []byte(`{"n":` + string(rune('0'+id)) + `}`)}); err != nil {
		t.Fatalf("publish %d: %v", id, err)
	}
}

// finish publishes the done event id of s through st.
func finish(t *testing.T, st *JobStore, s *jobs.Snapshot, id uint64) {
	t.Helper()
	s.State = jobs.Done
	if err := st.Publish(s.ID, s, jobs.Event{ID: id, Type: jobs.EventDone, Data: jobs.AppendJSON(nil, s)}); err != nil {
		t.Fatalf("done: %v", err)
	}
}

func ids(evs []jobs.Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// TestJobAcrossReplicas: a job written through A is read through B, whose
// replay and resume match what A published, and B's wait wakes when A
// publishes; once done, B's log has ended.
func TestJobAcrossReplicas(t *testing.T) {
	a, b, _ := replicas(t, newClock())
	s := begin(t, a, 2, 5)
	got, err := b.Get(s.ID)
	if err != nil || got.Settled != 1 || !slices.Equal(got.Numbers, []int64{5}) || got.State != jobs.Running {
		t.Fatalf("B reads %+v, %v", got, err)
	}
	evs, more, err := b.Events(s.ID, 0)
	if err != nil || !slices.Equal(ids(evs), []uint64{1}) || more == nil {
		t.Fatalf("B replays %v (more %v, %v), want [1] and a channel", ids(evs), more != nil, err)
	}
	settle(t, a, s, 2, 9)
	<-more // the follower's XREAD saw event 2
	evs, more, err = b.Events(s.ID, 1)
	if err != nil || !slices.Equal(ids(evs), []uint64{2}) || string(evs[0].Data) != `{"n":2}` || more == nil {
		t.Fatalf("B resumes after 1 with %v (%v)", ids(evs), err)
	}
	finish(t, a, s, 3)
	<-more
	evs, more, err = b.Events(s.ID, 0)
	if err != nil || !slices.Equal(ids(evs), []uint64{1, 2, 3}) || more != nil || evs[2].Type != jobs.EventDone {
		t.Fatalf("B's whole log %v, more %v (%v); want [1 2 3] ended", ids(evs), more != nil, err)
	}
	if evs, more, _ := b.Events(s.ID, 3); len(evs) != 0 || more != nil {
		t.Fatal("past the end of an ended log: want nothing, ended")
	}
	if got, _ := b.Get(s.ID); got.State != jobs.Done || !slices.Equal(got.Numbers, []int64{5, 9}) {
		t.Fatalf("final document through B: %+v", got)
	}
	if st := a.Stats(); st.Jobs[jobs.Running] != 0 {
		t.Fatalf("A still owns %d jobs after done", st.Jobs[jobs.Running])
	}
	if _, err := b.Get(jobs.NewID()); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
}

// TestCreateWithLog: a respond-async job is created with the events it had.
func TestCreateWithLog(t *testing.T) {
	a, b, _ := replicas(t, newClock())
	s := newJob(3)
	s.Settled = 2
	log := []jobs.Event{{ID: 1, Type: jobs.EventUpstream, Data: []byte(`{}`)}, {ID: 2, Type: jobs.EventUpstream, Data: []byte(`{}`)}}
	if err := a.Create(s, log); err != nil {
		t.Fatal(err)
	}
	evs, _, err := b.Events(s.ID, 1)
	if err != nil || !slices.Equal(ids(evs), []uint64{2}) {
		t.Fatalf("after 1: %v (%v), want [2]", ids(evs), err)
	}
	settle(t, a, s, 3)
	if evs, _, _ := b.Events(s.ID, 0); !slices.Equal(ids(evs), []uint64{1, 2, 3}) {
		t.Fatalf("log %v, want [1 2 3]", ids(evs))
	}
}

// TestOwnerDies: a job whose owner stops renewing its lease is ended by
// another replica's sweep, once the lease has expired and not before, with
// state failed and a reason; the owner, back, learns it lost the job and its
// writes are refused.
func TestOwnerDies(t *testing.T) {
	clk := newClock()
	a, b, lostA := replicas(t, clk)
	s := begin(t, a, 2, 7)

	clk.advance(4 * time.Second)
	a.Maintain() // renewed: expires 5s from now
	clk.advance(4 * time.Second)
	if n := b.Sweep(); n != 0 {
		t.Fatalf("swept %d jobs whose lease was renewed", n)
	}
	clk.advance(1100 * time.Millisecond) // A stopped renewing 5.1s ago
	if n := b.Sweep(); n != 1 {
		t.Fatalf("swept %d jobs, want the one whose lease expired", n)
	}
	got, err := b.Get(s.ID)
	if err != nil || got.State != jobs.Failed || got.Error != ReasonOwnerLost || !slices.Equal(got.Numbers, []int64{7}) {
		t.Fatalf("after the sweep: %+v, %v; want failed with the reason and what was merged", got, err)
	}
	evs, more, _ := b.Events(s.ID, 1)
	if !slices.Equal(ids(evs), []uint64{2}) || evs[0].Type != jobs.EventDone || more != nil {
		t.Fatalf("log after 1: %v, more %v; want the done event 2, ended", ids(evs), more != nil)
	}
	a.Maintain()
	if got := lostA.get(); !slices.Equal(got, []string{s.ID}) {
		t.Fatalf("A was told it lost %v, want [%s]", got, s.ID)
	}
	if err := a.Publish(s.ID, s, jobs.Event{ID: 2, Type: jobs.EventUpstream}); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("A's publish after losing the job: %v, want ErrNotFound", err)
	}
	if n := b.Sweep(); n != 0 {
		t.Fatalf("swept %d more", n)
	}
}

// TestEndElsewhere: a job cancelled through B while A runs it: the done
// event is B's, A's next write is refused and its renewal tells it.
func TestEndElsewhere(t *testing.T) {
	a, b, lostA := replicas(t, newClock())
	s := begin(t, a, 2, 3)
	got, err := b.End(s.ID, jobs.Cancelled, "")
	if err != nil || got.State != jobs.Cancelled || got.Settled != 1 {
		t.Fatalf("End through B: %+v, %v", got, err)
	}
	if again, err := b.End(s.ID, jobs.Cancelled, ""); err != nil || again.State != jobs.Cancelled {
		t.Fatalf("End again: %+v, %v; want the job as it is", again, err)
	}
	if err := a.Publish(s.ID, s, jobs.Event{ID: 2, Type: jobs.EventUpstream}); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("A's publish: %v, want ErrNotFound", err)
	}
	a.Maintain()
	evs, _, _ := b.Events(s.ID, 0)
	if !slices.Equal(ids(evs), []uint64{1, 2}) || evs[1].Type != jobs.EventDone {
		t.Fatalf("log %v, want [1 2] ending with done", ids(evs))
	}
	if len(lostA.get()) != 0 { // A learned it from the refused write, before the renewal
		t.Fatalf("lost %v", lostA.get())
	}
}

// TestPublishAfterOutage: an event published while Redis does not answer in
// time is kept and published, in order with the next, once it does.
func TestPublishAfterOutage(t *testing.T) {
	clk := newClock()
	c, err := Open(Config{URL: srv.URL, Prefix: t.Name() + ":", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := c.Jobs(JobConfig{Owner: "a", Interval: -1, Now: clk.now})
	defer a.Stop()
	s := newJob(3)
	if err := a.Create(s, nil); err != nil {
		t.Fatal(err)
	}
	// Pause every client's writes for a while: the publish times out.
	ctl := c.client()
	if err := ctl.Do(t.Context(), ctl.B().ClientPause().Timeout(400).Write().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	next := *s
	next.Settled = 1
	if err := a.Publish(s.ID, &next, jobs.Event{ID: 1, Type: jobs.EventUpstream, Data: []byte(`{}`)}); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("publish during the pause: %v, want ErrUnavailable", err)
	}
	if err := ctl.Do(t.Context(), ctl.B().ClientUnpause().Build()).Error(); err != nil && !rueidis.IsRedisNil(err) {
		t.Fatal(err)
	}
	next2 := next
	next2.Settled = 2
	if err := a.Publish(s.ID, &next2, jobs.Event{ID: 2, Type: jobs.EventUpstream, Data: []byte(`{}`)}); err != nil {
		t.Fatalf("publish after: %v", err)
	}
	evs, _, err := a.Events(s.ID, 0)
	if err != nil || !slices.Equal(ids(evs), []uint64{1, 2}) {
		t.Fatalf("log %v (%v), want [1 2]", ids(evs), err)
	}
}
