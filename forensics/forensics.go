// Package forensics keeps the evidence of late answers. A flight recorder
// (runtime/trace.FlightRecorder) holds the last seconds of the Go execution
// trace in memory; when an answer is reported late, one goroutine of the
// package's own snapshots that window, at most once per interval, and keeps
// the latest snapshot, which a Recorder serves over HTTP for `go tool trace`.
//
// The request path pays only for late answers, and then a clock read, an
// atomic compare-and-swap and a channel send that never waits.
package forensics

import (
	"errors"
	"fmt"
	"io"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Recorder.
type Config struct {
	// Window is how far back a snapshot reaches at least (the flight
	// recorder's MinAge), unless MaxBytes cuts it shorter; zero means 5s.
	Window time.Duration
	// MaxBytes bounds the flight recorder's window; the runtime treats it as
	// a hint, so a snapshot larger than twice MaxBytes is discarded (counted
	// as Failed). Zero means 16 MiB.
	MaxBytes int64
	// Interval is the least time between two snapshots; late answers within
	// it of the last one asked for are only counted. Zero means one minute.
	Interval time.Duration
}

// Stats counts what became of the late answers a Recorder was told about.
type Stats struct {
	Taken   atomic.Int64 // snapshots kept, each in place of the one before
	Limited atomic.Int64 // not traced: within Interval of the snapshot before
	Busy    atomic.Int64 // not traced: one was being written and another waited
	Failed  atomic.Int64 // the snapshot failed, or was larger than twice MaxBytes
}

// Snapshot is a flight recorder's window, written after a late answer.
type Snapshot struct {
	Taken   time.Time     // when it was written
	Elapsed time.Duration // how long the late answer took
	Trace   []byte        // a Go execution trace; read only
}

// Recorder runs a flight recorder and snapshots it after late answers.
// Create it with Start.
type Recorder struct {
	// Stats counts late answers by what became of them.
	Stats Stats

	write    func(io.Writer) (int64, error) // snapshots the flight recorder
	stopRec  func()                         // stops the flight recorder; nil in tests
	now      func() time.Time
	epoch    time.Time     // when the Recorder was made; next counts from it
	interval time.Duration // the least time between two snapshots
	maxBytes int64         // the largest snapshot kept

	next    atomic.Int64 // nanoseconds after epoch before which Late only counts
	asks    chan ask     // one slot: a snapshot asked for while one is written
	latest  atomic.Pointer[Snapshot]
	done    chan struct{} // closed by Stop
	stopped chan struct{} // closed when run has returned
	once    sync.Once
}

// ask is one late answer's request for a snapshot.
type ask struct {
	elapsed time.Duration
}

// Start starts a flight recorder configured by cfg and the goroutine that
// snapshots it; call Stop when done. Only one flight recorder may run in a
// process at a time, so Start fails while another runs.
func Start(cfg Config) (*Recorder, error) {
	cfg = cfg.withDefaults()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: cfg.Window, MaxBytes: uint64(cfg.MaxBytes)})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("forensics: starting the flight recorder: %w", err)
	}
	r := newRecorder(cfg, fr.WriteTo, time.Now)
	r.stopRec = fr.Stop
	go r.run()
	return r, nil
}

// withDefaults returns cfg with its zero values replaced by the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	return cfg
}

// newRecorder returns a Recorder that snapshots with write and reads the time
// from now; the caller starts run.
func newRecorder(cfg Config, write func(io.Writer) (int64, error), now func() time.Time) *Recorder {
	cfg = cfg.withDefaults()
	return &Recorder{
		write:    write,
		now:      now,
		epoch:    now(),
		interval: cfg.Interval,
		maxBytes: 2 * cfg.MaxBytes,
		asks:     make(chan ask, 1),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// Late asks for a snapshot because an answer took elapsed, beyond its budget.
// It never waits: within Interval of the last snapshot asked for it only
// counts Limited, and while a snapshot is being written and another waits it
// only counts Busy. Safe for concurrent use.
func (r *Recorder) Late(elapsed time.Duration) {
	t := int64(r.now().Sub(r.epoch))
	next := r.next.Load()
	// Of late answers that read the same next, one wins the swap and asks;
	// the others fall within the interval it has just claimed.
	if t < next || !r.next.CompareAndSwap(next, t+int64(r.interval)) {
		r.Stats.Limited.Add(1)
		return
	}
	select {
	case r.asks <- ask{elapsed: elapsed}:
	default:
		r.Stats.Busy.Add(1)
	}
}

// Latest returns the latest snapshot, and false before the first.
func (r *Recorder) Latest() (Snapshot, bool) {
	s := r.latest.Load()
	if s == nil {
		return Snapshot{}, false
	}
	return *s, true
}

// Stop stops the flight recorder and the snapshot goroutine, after taking a
// snapshot that Late asked for and that is not yet taken. Latest and
// ServeHTTP go on answering with what was kept. Safe to call more than once.
func (r *Recorder) Stop() {
	r.once.Do(func() {
		close(r.done)
		<-r.stopped
		if r.stopRec != nil {
			r.stopRec()
		}
	})
}

// run writes the snapshots that Late asks for, one at a time, until Stop.
func (r *Recorder) run() {
	defer close(r.stopped)
	for {
		select {
		case a := <-r.asks:
			r.take(a)
		case <-r.done:
			// Late's send happened before Stop closed done, so an ask not yet
			// taken is in the slot now.
			select {
			case a := <-r.asks:
				r.take(a)
			default:
			}
			return
		}
	}
}

// take writes a snapshot and keeps it in place of the one before.
func (r *Recorder) take(a ask) {
	taken := r.now()
	w := &capped{max: r.maxBytes}
	if _, err := r.write(w); err != nil || len(w.buf) == 0 {
		r.Stats.Failed.Add(1)
		return
	}
	r.latest.Store(&Snapshot{Taken: taken, Elapsed: a.elapsed, Trace: w.buf})
	r.Stats.Taken.Add(1)
}

// errTooLarge stops a snapshot larger than the bound.
var errTooLarge = errors.New("forensics: snapshot larger than twice MaxBytes")

// capped is an in-memory writer that refuses to grow past max bytes.
type capped struct {
	buf []byte
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(len(c.buf)+len(p)) > c.max {
		return 0, errTooLarge
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}
