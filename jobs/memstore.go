// This file holds MemStore, the embedded Store: bounded by jobs and bytes,
// finished jobs kept for a time to live.

package jobs

import (
	"sync"
	"time"
)

// MemConfig configures a MemStore.
type MemConfig struct {
	// MaxJobs is the most jobs held, running and finished; zero means 10000.
	MaxJobs int
	// MaxBytes bounds the bytes the jobs take (their numbers and logs); new
	// jobs are refused while the jobs held take more. Zero means 256 MiB.
	// Running jobs may go past it by what they still merge: the bound
	// decides admission, it never truncates a job.
	MaxBytes int64
	// TTL is how long a finished job is kept; zero means an hour.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MemStore is the embedded Store: jobs in a map, in this process. Finished
// jobs are dropped TTL after they finished, when a Create or a Get comes by
// (they count against the bounds until then). When it is full, Create
// returns ErrFull and nothing else is disturbed: no job is evicted early.
type MemStore struct {
	maxJobs  int
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time

	mu       sync.Mutex
	jobs     map[string]*memJob
	finished []*memJob // in the order they finished, so the oldest expire first
	bytes    int64
	states   [len(stateNames)]int
}

// memJob is one job held.
type memJob struct {
	snap    *Snapshot
	log     []Event
	changed chan struct{} // closed on the next Publish; nil once the log ended
	expires time.Time     // zero while running
	bytes   int64
}

// NewMemStore returns an empty MemStore for cfg.
func NewMemStore(cfg MemConfig) *MemStore {
	s := &MemStore{maxJobs: cfg.MaxJobs, maxBytes: cfg.MaxBytes, ttl: cfg.TTL, now: cfg.Now, jobs: map[string]*memJob{}}
	if s.maxJobs <= 0 {
		s.maxJobs = 10000
	}
	if s.maxBytes <= 0 {
		s.maxBytes = 256 << 20
	}
	if s.ttl <= 0 {
		s.ttl = time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Create implements Store.
func (s *MemStore) Create(snap *Snapshot, log []Event) error {
	j := &memJob{snap: snap, log: log, changed: make(chan struct{}), bytes: snap.bytes()}
	for _, ev := range log {
		j.bytes += ev.bytes()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if len(s.jobs) >= s.maxJobs || s.bytes+j.bytes > s.maxBytes {
		return ErrFull
	}
	if _, dup := s.jobs[snap.ID]; dup {
		panic("jobs: duplicate job id " + snap.ID)
	}
	s.jobs[snap.ID] = j
	s.bytes += j.bytes
	s.states[snap.State]++
	if len(log) > 0 && log[len(log)-1].Type == EventDone {
		s.end(j)
	}
	return nil
}

// Get implements Store.
func (s *MemStore) Get(id string) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	j, ok := s.jobs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return j.snap, nil
}

// Publish implements Store.
func (s *MemStore) Publish(id string, snap *Snapshot, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return ErrNotFound
	}
	if j.changed == nil || ev.ID != uint64(len(j.log))+1 {
		panic("jobs: event out of order or after done")
	}
	s.states[j.snap.State]--
	s.states[snap.State]++
	delta := snap.bytes() - j.snap.bytes() + ev.bytes()
	j.bytes += delta
	s.bytes += delta
	j.snap = snap
	j.log = append(j.log, ev)
	close(j.changed) // wakes every reader waiting for more
	j.changed = make(chan struct{})
	if ev.Type == EventDone {
		s.end(j)
	}
	return nil
}

// end closes j's log and starts its time to live. Finished jobs are queued
// in the order they finish, so their expiry times are ascending.
func (s *MemStore) end(j *memJob) {
	close(j.changed)
	j.changed = nil
	j.expires = s.now().Add(s.ttl)
	s.finished = append(s.finished, j)
}

// expire drops the finished jobs whose time to live is over.
func (s *MemStore) expire() {
	now := s.now()
	n := 0
	for ; n < len(s.finished) && !now.Before(s.finished[n].expires); n++ {
		j := s.finished[n]
		delete(s.jobs, j.snap.ID)
		s.bytes -= j.bytes
		s.states[j.snap.State]--
		s.finished[n] = nil
	}
	s.finished = s.finished[n:]
}

// Events implements Store. The events returned share the log's memory,
// which is append-only: they are never modified.
func (s *MemStore) Events(id string, after uint64) ([]Event, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, nil, ErrNotFound
	}
	var evs []Event
	if after < uint64(len(j.log)) {
		evs = j.log[after:len(j.log):len(j.log)]
	}
	if j.changed == nil {
		return evs, nil, nil
	}
	return evs, j.changed, nil
}

// Stats implements Store.
func (s *MemStore) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StoreStats{Jobs: s.states, Bytes: s.bytes}
}
