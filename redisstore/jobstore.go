// jobstore.go keeps jobs in Redis (a jobs.Store), so that any replica
// answers for any job: the document in a hash, the event log in a Stream
// whose entry ids are the event ids (0-1, 0-2, ...), XRANGE to replay and
// XREAD BLOCK to follow. The process running a job holds a lease on it
// (lease.go).

package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"numbers/jobs"
)

// JobConfig configures a JobStore.
type JobConfig struct {
	// Owner names this process in the leases it holds; zero means a random
	// id. Two processes must never share one.
	Owner string
	// Lease is how long a running job's lease lasts unrenewed: a job whose
	// owner stopped renewing it for that long is ended by another process
	// (state failed). Zero means 5s.
	Lease time.Duration
	// Interval is how often this process renews its leases, publishes again
	// what it could not, and sweeps expired leases; zero means Lease/4,
	// negative means never (the caller calls Maintain).
	Interval time.Duration
	// TTL is how long a finished job is kept; zero means an hour.
	TTL time.Duration
	// MaxJobs is the most running jobs this process owns at once; more are
	// refused with jobs.ErrFull. Zero means 10000.
	MaxJobs int
	// Block is how long one XREAD BLOCK waits for a followed log to grow;
	// zero means 1s.
	Block time.Duration
	// Lost, when set, is told the id of each job this process runs that it
	// no longer owns: ended by another process (cancelled there, or swept
	// after its lease expired) or gone from Redis. Runner.Cancel fits.
	Lost func(id string)
	// Now is the clock of the leases; nil means time.Now.
	Now func() time.Time
}

// JobStore keeps jobs in Redis. It is safe for concurrent use; Stop it to
// stop its goroutines.
type JobStore struct {
	c        *Client
	owner    string
	lease    time.Duration
	interval time.Duration
	ttl      time.Duration
	maxJobs  int
	block    time.Duration
	lost     func(string)
	now      func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	owned   map[string]*owned    // guarded by mu: the running jobs this process writes
	follows map[string]*follower // guarded by mu: the logs being followed
}

// owned is a running job this process writes, with the events it could not
// publish yet, sent again in order until Redis takes them.
type owned struct {
	mu      sync.Mutex // held while writing the job
	pending []publication
}

// publication is one event and the document that goes with it.
type publication struct {
	snap *jobs.Snapshot
	ev   jobs.Event
}

// Jobs returns a job store over c for cfg and starts its maintenance.
func (c *Client) Jobs(cfg JobConfig) *JobStore {
	st := &JobStore{c: c, owner: cfg.Owner, lease: cfg.Lease, interval: cfg.Interval, ttl: cfg.TTL,
		maxJobs: cfg.MaxJobs, block: cfg.Block, lost: cfg.Lost, now: cfg.Now,
		owned: map[string]*owned{}, follows: map[string]*follower{}}
	if st.owner == "" {
		st.owner = jobs.NewID()
	}
	if st.lease <= 0 {
		st.lease = 5 * time.Second
	}
	if st.interval == 0 {
		st.interval = st.lease / 4
	}
	if st.ttl <= 0 {
		st.ttl = time.Hour
	}
	if st.maxJobs <= 0 {
		st.maxJobs = 10000
	}
	if st.block <= 0 {
		st.block = time.Second
	}
	if st.now == nil {
		st.now = time.Now
	}
	st.ctx, st.cancel = context.WithCancel(c.ctx)
	if st.interval > 0 {
		st.wg.Add(1)
		go st.maintain()
	}
	return st
}

// Stop stops the store's goroutines. The jobs it owns keep their leases
// until they expire.
func (st *JobStore) Stop() {
	st.cancel()
	st.wg.Wait()
}

// Owner returns the name of this process in the leases.
func (st *JobStore) Owner() string { return st.owner }

func (st *JobStore) jobKey(id string) string { return st.c.key("job:" + id) }
func (st *JobStore) logKey(id string) string { return st.c.key("job:" + id + ":log") }
func (st *JobStore) leaseKey() string        { return st.c.key("leases") }

// keys are the keys the scripts of job id touch.
func (st *JobStore) keys(id string) []string {
	return []string{st.jobKey(id), st.logKey(id), st.leaseKey()}
}

// unavailable wraps a failure to reach Redis as jobs.ErrUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", jobs.ErrUnavailable, err)
}

// ms is t in Unix milliseconds, as a script argument.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Create implements jobs.Store. A running job gets a lease held by this
// process; its keys expire at its deadline plus the TTL at the latest.
func (st *JobStore) Create(s *jobs.Snapshot, log []jobs.Event) error {
	running := s.State == jobs.Running
	if running {
		st.mu.Lock()
		full := len(st.owned) >= st.maxJobs
		st.mu.Unlock()
		if full {
			return jobs.ErrFull
		}
	}
	now := st.now()
	expire := now.Add(st.ttl)
	if running {
		expire = s.Deadline.Add(st.ttl)
	}
	args := []string{s.ID, string(encodeSnapshot(s)), strconv.Itoa(len(log)), s.State.String(), st.owner,
		ms(now.Add(st.lease)), ms(expire)}
	for _, ev := range log {
		args = append(args, strconv.FormatUint(ev.ID, 10), ev.Type, string(ev.Data))
	}
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	code, err := st.c.exec(ctx, OpJobWrite, createScript, st.keys(s.ID), args).AsInt64()
	switch {
	case err != nil:
		return unavailable(err)
	case code == exists:
		panic("redisstore: duplicate job id " + s.ID)
	}
	if running {
		st.mu.Lock()
		st.owned[s.ID] = &owned{}
		st.mu.Unlock()
	}
	return nil
}

// Get implements jobs.Store.
func (st *JobStore) Get(id string) (*jobs.Snapshot, error) {
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	b, err := st.c.do(ctx, OpJobRead, func(rc rueidis.Client) rueidis.Completed {
		return rc.B().Hget().Key(st.jobKey(id)).Field("doc").Build()
	}).AsBytes()
	switch {
	case rueidis.IsRedisNil(err):
		return nil, jobs.ErrNotFound
	case err != nil:
		return nil, unavailable(err)
	}
	s, err := decodeSnapshot(b)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Publish implements jobs.Store for a job this process created. An event
// that cannot reach Redis is kept, with those after it, and published
// again in order by the maintenance; Publish returns jobs.ErrUnavailable.
// A job that another process ended, or that is gone, is no longer owned:
// jobs.ErrNotFound.
func (st *JobStore) Publish(id string, s *jobs.Snapshot, ev jobs.Event) error {
	st.mu.Lock()
	o := st.owned[id]
	st.mu.Unlock()
	if o == nil {
		return jobs.ErrNotFound
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, publication{s, ev})
	return st.flush(id, o)
}

// flush publishes o's pending events in order; o.mu is held.
func (st *JobStore) flush(id string, o *owned) error {
	for len(o.pending) > 0 {
		p := o.pending[0]
		code, err := st.append(id, p.snap, p.ev, st.owner, "")
		if err != nil {
			return unavailable(err)
		}
		switch code {
		case appended, duplicate:
			o.pending = o.pending[1:]
			if p.ev.Type == jobs.EventDone {
				st.disown(id)
			}
		default: // gone, ended by another, or out of turn: no longer ours
			o.pending = nil
			st.disown(id)
			return jobs.ErrNotFound
		}
	}
	return nil
}

// append runs appendScript for one event.
func (st *JobStore) append(id string, s *jobs.Snapshot, ev jobs.Event, owner, expiredBefore string) (int64, error) {
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	return st.c.exec(ctx, OpJobWrite, appendScript, st.keys(id), []string{
		id, strconv.FormatUint(ev.ID, 10), ev.Type, string(ev.Data), string(encodeSnapshot(s)), s.State.String(),
		strconv.FormatInt(st.ttl.Milliseconds(), 10), owner, expiredBefore,
	}).AsInt64()
}

// disown forgets a job this process no longer writes.
func (st *JobStore) disown(id string) {
	st.mu.Lock()
	delete(st.owned, id)
	st.mu.Unlock()
}

// End implements jobs.Ender: it publishes the done event of job id, which
// may run in any process, with state and reason, unless it ended already.
func (st *JobStore) End(id string, state jobs.State, reason string) (*jobs.Snapshot, error) {
	return st.end(id, state, reason, "")
}

// end ends job id unless it ended already or, with expiredBefore set, its
// lease was renewed since; it reads the job again when another write came
// first.
func (st *JobStore) end(id string, state jobs.State, reason, expiredBefore string) (*jobs.Snapshot, error) {
	for range 3 {
		s, seq, err := st.read(id)
		if err != nil || s.State != jobs.Running {
			return s, err
		}
		final := *s
		final.State, final.Error = state, reason
		ev := jobs.Event{ID: seq + 1, Type: jobs.EventDone, Data: jobs.AppendJSON(nil, &final)}
		code, err := st.append(id, &final, ev, "", expiredBefore)
		switch {
		case err != nil:
			return nil, unavailable(err)
		case code == appended:
			return &final, nil
		case code == gone:
			return nil, jobs.ErrNotFound
		case code == leased:
			return s, nil
		}
		// Another write came between the read and ours: read again.
	}
	return st.Get(id)
}

// read returns job id's document and the id of its last event.
func (st *JobStore) read(id string) (*jobs.Snapshot, uint64, error) {
	ctx, cancel := st.c.withTimeout()
	defer cancel()
	vals, err := st.c.do(ctx, OpJobRead, func(rc rueidis.Client) rueidis.Completed {
		return rc.B().Hmget().Key(st.jobKey(id)).Field("doc", "seq").Build()
	}).ToArray()
	if err != nil {
		return nil, 0, unavailable(err)
	}
	b, err1 := vals[0].AsBytes()
	seq, err2 := vals[1].AsUint64()
	if err1 != nil || err2 != nil {
		return nil, 0, jobs.ErrNotFound
	}
	s, err := decodeSnapshot(b)
	return s, seq, err
}

// Stats implements jobs.Store: the running jobs this process owns. The
// jobs finished, and those other processes run, are Redis's to count.
func (st *JobStore) Stats() jobs.StoreStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	var s jobs.StoreStats
	s.Jobs[jobs.Running] = len(st.owned)
	return s
}
