package handler

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/overload"
)

// aged makes a listener whose connections say their last bytes reached the
// host age ago, as overload.Listen's do from the kernel.
func aged(age time.Duration) func(net.Listener) net.Listener {
	return func(ln net.Listener) net.Listener { return agedListener{ln, age} }
}

type agedListener struct {
	net.Listener
	age time.Duration
}

func (l agedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return agedConn{c, l.age}, nil
}

type agedConn struct {
	net.Conn
	age time.Duration
}

func (c agedConn) SinceReceived() (time.Duration, bool) { return c.age, true }

// TestArrivalFromKernel: a request whose bytes reached the host 300ms before
// the handler picked it up counts those 300ms in its sojourn, its budget and
// its Server-Timing.
func TestArrivalFromKernel(t *testing.T) {
	const age = 300 * time.Millisecond
	f := newFake(map[string]canned{"http://a.test/": {numbers: []int64{1}}})
	var mu sync.Mutex
	var sojourn time.Duration
	h := New(Config{Source: f, Budget: 10 * time.Second, Overload: admitFunc(func(s time.Duration, _ int64) overload.Reason {
		mu.Lock()
		defer mu.Unlock()
		sojourn = s
		return overload.Admitted
	})})
	ln := serveVia(t, h, aged(age))
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://a.test/"))
	if resp.StatusCode() != 200 {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	mu.Lock()
	defer mu.Unlock()
	if sojourn < age || sojourn > age+slack {
		t.Errorf("sojourn %v; want from %v to %v", sojourn, age, age+slack)
	}
	st := string(resp.Header.Peek("Server-Timing"))
	_, after, found := strings.Cut(st, "total;dur=")
	var total float64 // milliseconds
	if _, err := fmt.Sscan(after, &total); !found || err != nil || total < millis(age) {
		t.Errorf("Server-Timing %q; want a total of at least the %v the request waited", st, age)
	}
}

// TestArrivalLaterThanRead: a connection whose last bytes arrived after the
// request was read (a pipelined request) does not move the arrival later.
func TestArrivalLaterThanRead(t *testing.T) {
	f := newFake(map[string]canned{"http://a.test/": {numbers: []int64{1}}})
	var mu sync.Mutex
	sojourn := time.Duration(-1)
	h := New(Config{Source: f, Overload: admitFunc(func(s time.Duration, _ int64) overload.Reason {
		mu.Lock()
		defer mu.Unlock()
		sojourn = s
		return overload.Admitted
	})})
	ln := serveVia(t, h, aged(0))
	if resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://a.test/")); resp.StatusCode() != 200 {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	mu.Lock()
	defer mu.Unlock()
	if sojourn < 0 || sojourn > slack {
		t.Errorf("sojourn %v; want from 0 to %v (since the read)", sojourn, slack)
	}
}

// TestArrivalTooLongAgo: a request that waited in the kernel for all of its
// budget is refused at once, never started.
func TestArrivalTooLongAgo(t *testing.T) {
	const budget = 500 * time.Millisecond
	f := newFake(map[string]canned{"http://hang.test/": {block: true}})
	obs := &recorder{}
	ln := serveVia(t, New(Config{Source: f, Budget: budget, Observer: obs}), aged(budget))
	start := time.Now()
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://hang.test/"))
	if took := time.Since(start); took > slack {
		t.Errorf("refused after %v; want at once", took)
	}
	wantRefused(t, resp, overload.Deadline)
	if got := f.callCounts()["http://hang.test/"]; got != 0 {
		t.Errorf("refused request fetched %d times", got)
	}
}

// TestQueueLimitRefuses wires the real overload.Controller: a request that
// waited 50ms unread, over a 10ms queue limit, is refused with 503, reason
// queue, and never started; one that waited 5ms is served.
func TestQueueLimitRefuses(t *testing.T) {
	f := newFake(map[string]canned{"http://a.test/": {numbers: []int64{1}}})
	ctl := overload.New(overload.Config{QueueLimit: 10 * time.Millisecond})
	obs := &recorder{}
	long := serveVia(t, New(Config{Source: f, Budget: 10 * time.Second, Overload: ctl, Observer: obs}), aged(50*time.Millisecond))
	wantRefused(t, roundTrip(t, long, fasthttp.MethodGet, numbersURI("http://a.test/")), overload.Queue)
	if got := f.callCounts()["http://a.test/"]; got != 0 {
		t.Errorf("refused request fetched %d times", got)
	}
	if refused, _, _ := obs.counts(); len(refused) != 1 || refused[0] != overload.Queue {
		t.Errorf("Refused told %v; want queue once", refused)
	}
	short := serveVia(t, New(Config{Source: f, Budget: 10 * time.Second, Overload: ctl}), aged(5*time.Millisecond))
	if resp := roundTrip(t, short, fasthttp.MethodGet, numbersURI("http://a.test/")); resp.StatusCode() != 200 {
		t.Fatalf("a request within the queue limit: %d %s; want 200", resp.StatusCode(), resp.Body())
	}
}
