// This file holds Hub: it streams job logs to watchers as Server-Sent
// Events, with replay, heartbeats and write deadlines.

package jobs

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// HubConfig configures a Hub.
type HubConfig struct {
	// Store is where the logs are read; required.
	Store Store
	// Ping is how long a stream may be silent before a ": ping" comment is
	// written, to keep idle connections alive through proxies; zero means 15s.
	Ping time.Duration
	// WriteTimeout is how long one write to a watcher may take: a watcher
	// that does not read for that long is dropped. Zero means 5s.
	WriteTimeout time.Duration
	// Ended, when set, is told why each watcher ended, after its connection
	// is closed and its resources freed.
	Ended func(Reason)
	// MaxStream is how long a stream may stay open: then the events due
	// are written and the connection is closed, and a client such as a
	// browser's EventSource reconnects with Last-Event-ID. Zero means 10m.
	MaxStream time.Duration
	// Retry is how long a stream's follower waits before it reads a shared
	// store again that was out of reach (ErrUnavailable); zero means 1s.
	Retry time.Duration
}

// Reason is why a watcher's stream ended.
type Reason uint8

// The reasons a stream ends.
const (
	EndDone     Reason = iota // the log ended with its done event
	EndGone                   // the client closed the connection
	EndStalled                // a write missed its deadline: the client does not read
	EndShutdown               // the hub shut down
	EndVanished               // the job is no longer in the store
	EndExpired                // the stream was open for HubConfig.MaxStream
)

// HubStats counts what a Hub did; read it, never write it.
type HubStats struct {
	Watchers     atomic.Int64  // streams open now
	Events       atomic.Uint64 // events written, counted once per watcher
	Dropped      atomic.Uint64 // watchers dropped because a write missed its deadline
	Disconnected atomic.Uint64 // watchers whose client closed the connection
}

// Hub streams job logs to watchers. Each watcher is a connection with a
// cursor, the id of the last event written to it. A watcher costs one
// goroutine while idle, the one reading its connection (which returns at
// once when the client goes away); writes run in a goroutine started when
// there is something to write, which reads the log from the cursor, so a
// watcher joining at any moment gets the replay and then the live events
// with no gap and no duplicate. Publishing never waits for a watcher: it
// only starts those goroutines, and a watcher that does not read holds up
// nobody but itself until its write deadline drops it.
type Hub struct {
	store        Store
	ping         time.Duration
	writeTimeout time.Duration
	ended        func(Reason)
	retry        time.Duration
	maxStream    time.Duration

	mu      sync.Mutex
	feeds   map[string]*feed // guarded by mu: the watched jobs
	closing bool             // guarded by mu
	wg      sync.WaitGroup   // every goroutine of the hub

	// Stats counts what the hub did.
	Stats HubStats
}

// feed is the watchers of one job and the goroutine following its log. The
// follower is the only reader of the store for the job: it keeps the log
// read so far and publishes it to the watchers, so that an event costs the
// store one read however many watch it.
type feed struct {
	id       string
	watchers map[*watcher]struct{} // guarded by Hub.mu
	quit     chan struct{}         // closed when the last watcher leaves

	// log is the log read so far, from event 1: the follower appends to its
	// own slice and stores a new header; readers read within theirs.
	log   atomic.Pointer[[]Event]
	ended atomic.Bool // the log holds its done event, or the job is gone
	gone  atomic.Bool // the job is no longer in the store
}

// since returns the events after cursor read so far, and whether the log
// has ended (or the job is gone).
func (f *feed) since(cursor uint64) ([]Event, bool) {
	ended := f.ended.Load() // before the log: an ended log is complete
	p := f.log.Load()
	if p == nil || uint64(len(*p)) <= cursor {
		return nil, ended
	}
	return (*p)[cursor:], ended
}

// NewHub returns a Hub for cfg.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Store == nil {
		panic("jobs: HubConfig.Store is required")
	}
	h := &Hub{store: cfg.Store, ping: cfg.Ping, writeTimeout: cfg.WriteTimeout, ended: cfg.Ended, retry: cfg.Retry,
		maxStream: cfg.MaxStream, feeds: map[string]*feed{}}
	if h.maxStream <= 0 {
		h.maxStream = 10 * time.Minute
	}
	if h.retry <= 0 {
		h.retry = time.Second
	}
	if h.ping <= 0 {
		h.ping = 15 * time.Second
	}
	if h.writeTimeout <= 0 {
		h.writeTimeout = 5 * time.Second
	}
	return h
}

// Serve streams job id's log after event after to conn, starting with head
// (the response's status line and headers), and returns at once: the
// stream goes on in the hub's goroutines until the log ends (the done event
// is written, then conn is closed), the client goes away, a write misses
// its deadline, or the hub shuts down (a final comment, then close). The
// hub owns conn from now on. After Shutdown it writes refused and closes.
func (h *Hub) Serve(conn net.Conn, id string, after uint64, head, refused []byte) {
	w := &watcher{hub: h, conn: conn, cursor: after, head: head, wrote: time.Now()}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(h.writeTimeout)) //nolint:errcheck // a failed write below says it
		conn.Write(refused)                                   //nolint:errcheck // closing anyway
		conn.Close()
		return
	}
	f := h.feeds[id]
	if f == nil {
		f = &feed{id: id, watchers: map[*watcher]struct{}{}, quit: make(chan struct{})}
		h.feeds[id] = f
		h.wg.Add(1)
		go h.follow(f)
	}
	w.feed = f
	w.mu.Lock() // the timer's function takes it: w.timer is set first
	w.timer = time.AfterFunc(h.ping, w.pingDue)
	w.limit = time.AfterFunc(h.maxStream, w.expire)
	w.mu.Unlock()
	f.watchers[w] = struct{}{}
	h.wg.Add(1) // the reader, below
	h.Stats.Watchers.Add(1)
	h.mu.Unlock()
	go w.read()
	w.kick()
}

// follow reads f's log as it grows and wakes its watchers, until the log
// ends or the last watcher leaves.
func (h *Hub) follow(f *feed) {
	defer h.wg.Done()
	var log []Event
	for {
		evs, more, err := h.store.Events(f.id, uint64(len(log)))
		if errors.Is(err, ErrUnavailable) {
			// A shared store out of reach: the stream stays open (pings go
			// on) and the follower tries again.
			select {
			case <-time.After(h.retry):
				continue
			case <-f.quit:
				return
			}
		}
		if err != nil {
			f.gone.Store(true)
			more = nil // the job is gone: its watchers end
		} else if len(evs) > 0 {
			log = append(log, evs...)
			snapshot := log
			f.log.Store(&snapshot)
		}
		if more == nil {
			f.ended.Store(true)
		}
		if len(evs) > 0 || more == nil {
			h.mu.Lock()
			for w := range f.watchers {
				w.kick()
			}
			h.mu.Unlock()
		}
		if more == nil {
			return
		}
		select {
		case <-more:
		case <-f.quit:
			return
		}
	}
}

// remove forgets w, which has ended.
func (h *Hub) remove(w *watcher, reason Reason) {
	h.mu.Lock()
	f := w.feed
	delete(f.watchers, w)
	if len(f.watchers) == 0 && h.feeds[f.id] == f {
		delete(h.feeds, f.id)
		close(f.quit)
	}
	h.mu.Unlock()
	h.Stats.Watchers.Add(-1)
	switch reason {
	case EndStalled:
		h.Stats.Dropped.Add(1)
	case EndGone:
		h.Stats.Disconnected.Add(1)
	}
	if h.ended != nil {
		h.ended(reason)
	}
}

// Shutdown ends every stream: each gets what is due, then a final comment,
// and is closed. New watchers are refused. If ctx ends first, the streams
// left are closed at once. It returns when every goroutine of the hub has
// returned.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	var ws []*watcher
	for _, f := range h.feeds {
		for w := range f.watchers {
			ws = append(ws, w)
		}
	}
	h.mu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.kick()
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, w := range ws {
			w.end(EndShutdown)
		}
		<-done
		return ctx.Err()
	}
}
