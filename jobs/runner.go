// This file holds Runner: it runs jobs in this process, fetching through the
// service's Source and publishing their progress to a Store.

package jobs

import (
	"context"
	"slices"
	"sync"
	"time"

	"numbers/aggregate"
	"numbers/outcome"
)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Source obtains the upstreams' numbers; required.
	Source Source
	// Store keeps the jobs; nil means a MemStore with its defaults.
	Store Store
	// Budget is a job's budget when the caller names none; zero means 30s.
	Budget time.Duration
	// MaxBudget is the largest budget a caller may ask for; zero means 5m.
	MaxBudget time.Duration
}

// Runner runs jobs. It is safe for concurrent use. Close it to cancel the
// jobs still running.
type Runner struct {
	source    Source
	store     Store
	budget    time.Duration
	maxBudget time.Duration

	mu      sync.Mutex
	running map[*job]struct{} // guarded by mu; the jobs whose goroutine runs
	byID    map[string]*job   // guarded by mu; the stored ones among them
	recent  []string          // guarded by mu; the ids of the last jobs stored, oldest first
	closed  bool
	wg      sync.WaitGroup
}

// NewRunner returns a Runner for cfg.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Source == nil {
		panic("jobs: RunnerConfig.Source is required")
	}
	r := &Runner{source: cfg.Source, store: cfg.Store, budget: cfg.Budget, maxBudget: cfg.MaxBudget,
		running: map[*job]struct{}{}, byID: map[string]*job{}}
	if r.store == nil {
		r.store = NewMemStore(MemConfig{})
	}
	if r.budget <= 0 {
		r.budget = 30 * time.Second
	}
	if r.maxBudget <= 0 {
		r.maxBudget = 5 * time.Minute
	}
	return r
}

// Store returns the store the runner publishes to.
func (r *Runner) Store() Store { return r.store }

// Budget returns the default budget of a job.
func (r *Runner) Budget() time.Duration { return r.budget }

// MaxBudget returns the largest budget a caller may ask for.
func (r *Runner) MaxBudget() time.Duration { return r.maxBudget }

// recentJobs is how many job ids Recent returns at most.
const recentJobs = 20

// remember adds id to the recent jobs, forgetting the oldest past recentJobs.
func (r *Runner) remember(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recent) == recentJobs {
		r.recent = append(r.recent[:0], r.recent[1:]...)
	}
	r.recent = append(r.recent, id)
}

// Recent returns the ids of the last jobs this runner stored, newest first
// (at most 20; some may have expired from the store since).
func (r *Runner) Recent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(r.recent))
	for i, id := range r.recent {
		ids[len(ids)-1-i] = id
	}
	return ids
}

// Start creates a job over urls (distinct, valid) with invalid more that
// were refused, stores it and starts its fetches; budget zero means the
// default. The fetches carry the values of ctx (the trace span of the
// request that started it), but neither its deadline nor its cancellation:
// the job has its own. It returns the job's first document, or ErrFull, or
// ErrClosed.
func (r *Runner) Start(ctx context.Context, urls []string, invalid int, budget time.Duration) (*Snapshot, error) {
	if budget <= 0 {
		budget = r.budget
	}
	j := r.newJob(ctx, urls, invalid, time.Now(), budget)
	snap := j.snapshot()
	if err := r.store.Create(snap, nil); err != nil {
		j.cancel() // releases the deadline's timer
		return nil, err
	}
	j.stored = true
	r.remember(snap.ID)
	if err := r.launch(j); err != nil {
		// Stored but never run: end its log so that it reads as cancelled.
		j.finish(Cancelled)
		return nil, err
	}
	return snap, nil
}

// Prepare starts a job over urls as Start does, with the default budget
// from start, but does not store it: the job runs privately, keeping its
// events, until Commit stores it or Discard ends it. It is how GET /numbers
// with Prefer: respond-async becomes a job only when its answer is partial.
// It returns nil when the runner is closed.
func (r *Runner) Prepare(ctx context.Context, urls []string, invalid int, start time.Time) *Pending {
	j := r.newJob(ctx, urls, invalid, start, r.budget)
	if r.launch(j) != nil {
		return nil
	}
	return &Pending{j: j}
}

// Cancel cancels job id's fetches still running and returns its document,
// with state cancelled, once that is published. A job that is no longer
// running is left as it is; ErrNotFound if there is no such job. A job that
// runs in another process sharing the store (an Ender) is ended there, in
// the store; its runner learns it at its next lease renewal.
func (r *Runner) Cancel(id string) (*Snapshot, error) {
	r.mu.Lock()
	j := r.byID[id]
	r.mu.Unlock()
	if j != nil {
		j.stopOnce.Do(func() { close(j.stop) })
		<-j.ended
	} else if e, ok := r.store.(Ender); ok {
		// Not running here: maybe in another process sharing the store.
		return e.End(id, Cancelled, "")
	}
	return r.store.Get(id)
}

// Stop cancels every job still running and waits for their goroutines.
// Start and Prepare fail afterwards.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.closed = true
	jobs := make([]*job, 0, len(r.running))
	for j := range r.running {
		jobs = append(jobs, j)
	}
	r.mu.Unlock()
	for _, j := range jobs {
		j.stopOnce.Do(func() { close(j.stop) })
	}
	r.wg.Wait()
}

// result is one upstream's contribution, delivered by the source.
type result struct {
	index   int
	numbers []int64
	outcome outcome.Outcome
}

// job is one job while it runs here.
type job struct {
	r        *Runner
	urls     []string
	ctx      context.Context // its fetches' context: the job's deadline
	cancel   context.CancelFunc
	results  chan result   // buffered for every URL: delivering never blocks
	stop     chan struct{} // closed to cancel
	stopOnce sync.Once
	ended    chan struct{} // closed when the job's goroutine has published done

	mu      sync.Mutex
	snap    Snapshot // the working document; copies are published
	settled []bool
	set     aggregate.Set
	seq     uint64        // the last event's id
	stored  bool          // in the store: events go there, else into log
	log     []Event       // events while not stored (respond-async)
	changed chan struct{} // closed at every event, for Pending.Progress
}

func (r *Runner) newJob(parent context.Context, urls []string, invalid int, start time.Time, budget time.Duration) *job {
	j := &job{
		r:       r,
		urls:    urls,
		results: make(chan result, len(urls)),
		stop:    make(chan struct{}),
		ended:   make(chan struct{}),
		settled: make([]bool, len(urls)),
		changed: make(chan struct{}),
	}
	j.snap = Snapshot{ID: NewID(), State: Running, Created: start, Deadline: start.Add(budget), Total: len(urls)}
	j.snap.Outcomes[outcome.Invalid] = invalid
	j.ctx, j.cancel = context.WithDeadline(context.WithoutCancel(parent), j.snap.Deadline)
	return j
}

// launch starts j's fetches and its goroutine, unless the runner is closed.
func (r *Runner) launch(j *job) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		j.cancel()
		return ErrClosed
	}
	r.running[j] = struct{}{}
	if j.stored {
		r.byID[j.snap.ID] = j
	}
	r.wg.Add(1)
	r.mu.Unlock()
	for i, u := range j.urls {
		r.source.Fetch(j.ctx, u, func(nums []int64, o outcome.Outcome) {
			j.results <- result{i, nums, o}
		})
	}
	go j.run()
	return nil
}

// run merges results as they arrive until every upstream settled (done),
// the deadline passed (done, the pending ones abandoned: a stale entry or a
// timeout), or the job was cancelled.
func (j *job) run() {
	defer j.r.wg.Done()
	state := Done
	for pending := len(j.urls); pending > 0; pending-- {
		select {
		case res := <-j.results:
			j.settle(res.index, res.numbers, res.outcome)
			continue
		case <-j.ctx.Done():
			j.drain() // results that arrived with the deadline still count
			for i, u := range j.urls {
				if !j.isSettled(i) {
					nums, o := j.r.source.Abandon(u)
					j.settle(i, nums, o)
				}
			}
		case <-j.stop:
			state = Cancelled
		}
		break
	}
	j.finish(state)
	j.cancel() // ends the fetches it no longer waits for
	j.r.mu.Lock()
	delete(j.r.running, j)
	delete(j.r.byID, j.snap.ID)
	j.r.mu.Unlock()
	close(j.ended)
}

// drain settles the results already delivered.
func (j *job) drain() {
	for {
		select {
		case res := <-j.results:
			j.settle(res.index, res.numbers, res.outcome)
		default:
			return
		}
	}
}

func (j *job) isSettled(i int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.settled[i]
}

// settle records upstream i's outcome: merges its numbers and publishes its
// event with the new document.
func (j *job) settle(i int, nums []int64, o outcome.Outcome) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.settled[i] {
		return
	}
	j.settled[i] = true
	j.snap.Settled++
	j.snap.Outcomes[o]++
	count := 0
	if o.Contributed() {
		count = len(nums)
		if count > 0 {
			j.set.Add(nums)
			// Published documents are shared: a new slice at each merge.
			j.snap.Numbers = slices.Clone(j.set.Numbers())
		}
	}
	j.publish(EventUpstream, upstreamData(j.urls[i], o, count))
}

// finish ends the job in state and publishes the done event, whose data is
// the final document.
func (j *job) finish(state State) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.snap.State = state
	j.set = aggregate.Set{} // the merged list lives on in snap.Numbers
	j.publish(EventDone, AppendJSON(nil, &j.snap))
}

// publish appends the next event with a copy of the working document, to
// the store once the job is stored, else to the private log. j.mu is held,
// so events are published in id order.
func (j *job) publish(typ string, data []byte) {
	j.seq++
	ev := Event{ID: j.seq, Type: typ, Data: data}
	snap := j.snap
	if j.stored {
		// A store error (a shared store out of reach) loses this event for
		// watchers; the job goes on and the next document supersedes it.
		j.r.store.Publish(j.snap.ID, &snap, ev) //nolint:errcheck // see above
	} else {
		j.log = append(j.log, ev)
	}
	close(j.changed)
	j.changed = make(chan struct{})
}

// snapshot returns a copy of the working document.
func (j *job) snapshot() *Snapshot {
	j.mu.Lock()
	defer j.mu.Unlock()
	snap := j.snap
	return &snap
}
