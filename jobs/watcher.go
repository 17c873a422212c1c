// watcher.go is one event stream of the hub: a hijacked connection, the
// events it has yet to be sent, its flushes, pings and end.

package jobs

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// watcher is one stream.
type watcher struct {
	hub  *Hub
	feed *feed
	conn net.Conn

	mu      sync.Mutex
	cursor  uint64 // the id of the last event written
	head    []byte // the response head, until written
	writing bool   // a flush goroutine runs
	again   bool   // kicked while writing: look at the log once more
	ping    bool   // a ping is due
	closing bool   // the hub shuts down
	expired bool   // open for the hub's MaxStream
	ended   bool
	timer   *time.Timer // the next look at whether a ping is due
	limit   *time.Timer // the end of the stream's MaxStream
	wrote   time.Time   // when something was last written
}

// kick makes sure a flush runs after this moment, starting one unless one
// runs already (which then goes round once more). It never blocks.
func (w *watcher) kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	if w.writing {
		w.again = true
		return
	}
	w.writing = true
	// Added under w.mu while not ended, hence while the reader runs: the
	// hub's count cannot be zero here, so Shutdown's Wait is not raced.
	w.hub.wg.Add(1)
	go w.flush()
}

// pingDue is the ping timer's: a ping is due if nothing was written for
// the ping interval, else the timer is set for the end of that interval.
// Writes do not touch the timer: a busy stream costs no timer updates.
func (w *watcher) pingDue() {
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return
	}
	if wait := w.hub.ping - time.Since(w.wrote); wait > 0 {
		w.timer.Reset(wait)
		w.mu.Unlock()
		return
	}
	w.ping = true
	w.timer.Reset(w.hub.ping)
	w.mu.Unlock()
	w.kick()
}

// expire is the limit timer's: the stream ends after its next write.
func (w *watcher) expire() {
	w.mu.Lock()
	w.expired = true
	w.mu.Unlock()
	w.kick()
}

// flush writes what is due: the head, the events after the cursor, a ping
// if nothing else, a final comment when closing; and ends the stream after
// the done event. It goes round while kicked meanwhile.
func (w *watcher) flush() {
	defer w.hub.wg.Done()
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	for {
		w.mu.Lock()
		head, ping, closing, expired, cursor := w.head, w.ping, w.closing, w.expired, w.cursor
		w.head, w.ping, w.again = nil, false, false
		w.mu.Unlock()

		evs, ended := w.feed.since(cursor)
		if closing {
			// The last write: everything due, even what the follower has
			// not read yet.
			if all, more, err := w.hub.store.Events(w.feed.id, cursor); err == nil {
				evs, ended = all, more == nil
			}
		}
		if w.feed.gone.Load() {
			w.end(EndVanished)
			return
		}
		buf := append((*bp)[:0], head...)
		for _, ev := range evs {
			buf = appendFrame(buf, ev)
		}
		// Done once the done event is written, or when the log ended before
		// the cursor (a Last-Event-ID past the end of a job that ended).
		done := len(evs) > 0 && evs[len(evs)-1].Type == EventDone || ended && len(evs) == 0
		if ping && len(buf) == 0 {
			buf = append(buf, ": ping\n\n"...)
		}
		if closing && !done {
			buf = append(buf, ": shutting down\n\n"...)
		}
		*bp = buf
		if err := w.write(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				w.end(EndStalled)
			} else {
				w.end(EndGone)
			}
			return
		}
		w.hub.Stats.Events.Add(uint64(len(evs)))
		switch {
		case done:
			w.end(EndDone)
			return
		case closing:
			w.end(EndShutdown)
			return
		case expired:
			w.end(EndExpired)
			return
		}
		w.mu.Lock()
		if len(evs) > 0 {
			w.cursor = evs[len(evs)-1].ID
		}
		if len(buf) > 0 {
			w.wrote = time.Now()
		}
		if !w.again || w.ended {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// writeChunk is the most written under one deadline: a watcher that reads
// slowly but steadily gets a long replay, one that stops reading is dropped.
const writeChunk = 64 << 10

// write writes b to the connection, each chunk within the write timeout.
func (w *watcher) write(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), writeChunk)
		if err := w.conn.SetWriteDeadline(time.Now().Add(w.hub.writeTimeout)); err != nil {
			return err
		}
		if _, err := w.conn.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// read waits for the client to go away: an SSE client sends nothing after
// its request, so a read returns only when the connection is closed, by
// the client or by end. Anything read is discarded.
func (w *watcher) read() {
	defer w.hub.wg.Done()
	buf := make([]byte, 16)
	for {
		if _, err := w.conn.Read(buf); err != nil {
			w.end(EndGone) // a no-op if the stream ended first
			return
		}
	}
}

// end ends the stream once: stops its timer, closes its connection (which
// ends its reader and any write under way) and removes it from the hub.
func (w *watcher) end(reason Reason) {
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return
	}
	w.ended = true
	w.timer.Stop()
	w.limit.Stop()
	w.mu.Unlock()
	w.conn.Close()
	w.hub.remove(w, reason)
}

// appendFrame appends ev as an SSE message: id, event and data lines.
func appendFrame(dst []byte, ev Event) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, ev.ID, 10)
	dst = append(dst, "\nevent: "...)
	dst = append(dst, ev.Type...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, ev.Data...)
	return append(dst, "\n\n"...)
}

// bufPool holds flush buffers: a watcher holds none while idle.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// putBuf returns a buffer to the pool unless a big replay grew it.
func putBuf(bp *[]byte) {
	if cap(*bp) <= writeChunk {
		bufPool.Put(bp)
	}
}
