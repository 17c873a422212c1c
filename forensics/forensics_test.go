package forensics

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// clock is a fake clock that tests move by hand; safe for concurrent use.
type clock struct {
	base time.Time
	ns   atomic.Int64
}

func newClock() *clock { return &clock{base: time.Date(2026, 5, 11, 14, 22, 33, 0, time.UTC)} }

func (c *clock) now() time.Time          { return c.base.Add(time.Duration(c.ns.Load())) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// traceHeader is what a Go execution trace begins with.
var traceHeader = regexp.MustCompile(`^go 1\.\d+ trace\x00+$`)

// fakeTraces returns a write that writes a tiny trace numbered by call.
func fakeTraces() func(io.Writer) (int64, error) {
	var n int
	return func(w io.Writer) (int64, error) {
		n++
		k, err := fmt.Fprintf(w, "go 1.26 trace\x00\x00\x00#%d", n)
		return int64(k), err
	}
}

// TestRateLimitAndRetention asks for snapshots as the clock moves: one is
// taken per interval, the others are counted, and only the latest is kept.
// Nothing runs in the background: the test takes what Late asked for itself.
func TestRateLimitAndRetention(t *testing.T) {
	c := newClock()
	r := newRecorder(Config{Interval: time.Minute}, fakeTraces(), c.now)
	if _, ok := r.Latest(); ok {
		t.Fatal("a snapshot before any late answer")
	}
	steps := []struct {
		name    string
		advance time.Duration
		elapsed time.Duration
		asked   bool
		latest  string // the trace kept afterwards
	}{
		{"first late answer", 0, 600 * time.Millisecond, true, "#1"},
		{"same instant", 0, 601 * time.Millisecond, false, "#1"},
		{"within the interval", 59 * time.Second, 602 * time.Millisecond, false, "#1"},
		{"one interval after the first", time.Second, 700 * time.Millisecond, true, "#2"},
		{"just before the next", time.Minute - 1, 701 * time.Millisecond, false, "#2"},
		{"long after", time.Hour, 800 * time.Millisecond, true, "#3"},
	}
	var limited int64
	for _, s := range steps {
		c.advance(s.advance)
		r.Late(s.elapsed)
		if got := len(r.asks); got != map[bool]int{true: 1}[s.asked] {
			t.Fatalf("%s: %d snapshots asked for; want asked=%v", s.name, got, s.asked)
		}
		if s.asked {
			r.take(<-r.asks)
		} else {
			limited++
		}
		snap, ok := r.Latest()
		if !ok || !strings.HasSuffix(string(snap.Trace), s.latest) {
			t.Fatalf("%s: latest trace %q; want the one ending %q", s.name, snap.Trace, s.latest)
		}
		if s.asked && (snap.Elapsed != s.elapsed || !snap.Taken.Equal(c.now())) {
			t.Errorf("%s: snapshot taken %v for %v; want %v for %v", s.name, snap.Taken, snap.Elapsed, c.now(), s.elapsed)
		}
	}
	if got := r.Stats.Taken.Load(); got != 3 {
		t.Errorf("Taken %d; want 3", got)
	}
	if got := r.Stats.Limited.Load(); got != limited {
		t.Errorf("Limited %d; want %d", got, limited)
	}
	if r.Stats.Busy.Load() != 0 || r.Stats.Failed.Load() != 0 {
		t.Errorf("Busy %d, Failed %d; want 0", r.Stats.Busy.Load(), r.Stats.Failed.Load())
	}
}

// TestBusyWriterDrops holds the writer inside a snapshot: a second late answer
// waits in the one slot, a third is dropped and counted, and Late returns at
// once each time (were it to wait, the test would hang).
func TestBusyWriterDrops(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := newClock()
	entered := make(chan int, 3)
	release := make(chan struct{})
	var n int
	write := func(w io.Writer) (int64, error) {
		n++
		entered <- n
		<-release
		k, err := fmt.Fprintf(w, "go 1.26 trace\x00\x00\x00#%d", n)
		return int64(k), err
	}
	r := newRecorder(Config{Interval: time.Second}, write, c.now)
	go r.run()

	r.Late(1 * time.Second)
	<-entered // the writer holds the first
	c.advance(time.Second)
	r.Late(2 * time.Second) // waits in the slot
	c.advance(time.Second)
	r.Late(3 * time.Second) // the slot is taken: dropped
	if got := r.Stats.Busy.Load(); got != 1 {
		t.Fatalf("Busy %d while the writer is held; want 1", got)
	}
	close(release)
	r.Stop() // takes the one in the slot before returning
	r.Stop() // a second Stop does nothing

	if got := r.Stats.Taken.Load(); got != 2 {
		t.Errorf("Taken %d; want 2", got)
	}
	if snap, ok := r.Latest(); !ok || snap.Elapsed != 2*time.Second {
		t.Errorf("latest snapshot is for %v (ok %v); want the one for 2s", snap.Elapsed, ok)
	}
	if got := r.Stats.Limited.Load(); got != 0 {
		t.Errorf("Limited %d; want 0", got)
	}
}

// TestFailedSnapshots: a snapshot that fails, is empty or is larger than
// twice MaxBytes is counted and does not replace the one kept.
func TestFailedSnapshots(t *testing.T) {
	tests := []struct {
		name  string
		write func(io.Writer) (int64, error)
	}{
		{"error", func(io.Writer) (int64, error) { return 0, errors.New("recorder inactive") }},
		{"empty", func(io.Writer) (int64, error) { return 0, nil }},
		{"too large", func(w io.Writer) (int64, error) {
			k, err := w.Write(make([]byte, 2<<10+1))
			return int64(k), err
		}},
		{"too large in pieces", func(w io.Writer) (int64, error) {
			var total int64
			for range 5 {
				k, err := w.Write(make([]byte, 1<<9))
				total += int64(k)
				if err != nil {
					return total, err
				}
			}
			return total, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			good := fakeTraces()
			var fail bool
			r := newRecorder(Config{MaxBytes: 1 << 10, Interval: time.Second}, func(w io.Writer) (int64, error) {
				if fail {
					return tt.write(w)
				}
				return good(w)
			}, c.now)
			r.Late(time.Second)
			r.take(<-r.asks)
			fail = true
			c.advance(time.Second)
			r.Late(2 * time.Second)
			r.take(<-r.asks)
			if got := r.Stats.Failed.Load(); got != 1 {
				t.Errorf("Failed %d; want 1", got)
			}
			if snap, _ := r.Latest(); snap.Elapsed != time.Second {
				t.Errorf("latest is for %v; want the good one, for 1s", snap.Elapsed)
			}
		})
	}
}

// serve answers one request to r.
func serve(r *Recorder, method string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(method, "/debug/late-trace", nil))
	return w
}

// TestServe checks the admin endpoint before and after a snapshot.
func TestServe(t *testing.T) {
	c := newClock()
	r := newRecorder(Config{}, fakeTraces(), c.now)
	if w := serve(r, "GET"); w.Code != 404 || w.Header().Get("Content-Type") != "application/json" ||
		w.Body.String() != `{"error":"no late answer has been traced yet"}`+"\n" {
		t.Errorf("before any: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	c.advance(1234 * time.Millisecond)
	r.Late(612 * time.Millisecond)
	r.take(<-r.asks)

	tests := []struct {
		method string
		status int
		body   string
	}{
		{"GET", 200, "go 1.26 trace\x00\x00\x00#1"},
		{"HEAD", 200, ""},
		{"POST", 405, `{"error":"method not allowed: use GET or HEAD"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			w := serve(r, tt.method)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("%d %q; want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if tt.status != 200 {
				return
			}
			for k, want := range map[string]string{
				"Content-Type":         "application/octet-stream",
				"Content-Disposition":  `attachment; filename="late-trace-20260511T142234.234Z.trace"`,
				"X-Late-Trace-Taken":   "2026-05-11T14:22:34.234Z",
				"X-Late-Trace-Elapsed": "612ms",
				"Content-Length":       fmt.Sprint(len("go 1.26 trace\x00\x00\x00#1")),
			} {
				if got := w.Header().Get(k); got != want {
					t.Errorf("%s %q; want %q", k, got, want)
				}
			}
		})
	}
}

// TestRealTrace runs the runtime's flight recorder: the snapshot served after
// a late answer is a Go execution trace, and a second recorder cannot start
// while the first runs.
func TestRealTrace(t *testing.T) {
	defer goleak.VerifyNone(t)
	r, err := Start(Config{Window: time.Second, MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if other, err := Start(Config{}); err == nil {
		other.Stop()
		t.Error("a second flight recorder started while the first ran")
	}
	if w := serve(r, "GET"); w.Code != 404 {
		t.Fatalf("before any late answer: %d; want 404", w.Code)
	}
	r.Late(612 * time.Millisecond)
	r.Stop() // takes the snapshot asked for
	w := serve(r, "GET")
	body := w.Body.Bytes()
	if w.Code != 200 {
		t.Fatalf("after a late answer: %d; want 200", w.Code)
	}
	if len(body) <= 16 || !traceHeader.Match(body[:16]) {
		t.Fatalf("not a Go execution trace: %d bytes beginning %q", len(body), body[:min(len(body), 16)])
	}
	if got := w.Header().Get("X-Late-Trace-Elapsed"); got != "612ms" {
		t.Errorf("X-Late-Trace-Elapsed %q; want 612ms", got)
	}
}
