package handler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"numbers/outcome"

	"github.com/valyala/fasthttp"
)

// slack is the generous allowance over a budget the tests set themselves.
const slack = time.Second

func TestDeadlinePartialAnswer(t *testing.T) {
	const budget = 150 * time.Millisecond
	f := newFake(map[string]canned{
		"http://fast.test/": {numbers: []int64{3, 1e9}},
		"http://hang.test/": {block: true},
	})
	ln := serve(t, New(Config{Source: f, Budget: budget}))
	start := time.Now()
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://fast.test/", "http://hang.test/"))
	if took := time.Since(start); took > budget+slack {
		t.Errorf("answered after %v; budget %v", took, budget)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[3,1000000000]}` {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	if got := string(resp.Header.Peek("X-Numbers-Complete")); got != "false" {
		t.Errorf("X-Numbers-Complete %q; want false", got)
	}
	want := outcomes(map[outcome.Outcome]int{outcome.OK: 1, outcome.Timeout: 1})
	if got := string(resp.Header.Peek("X-Numbers-Outcomes")); got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}
}

func TestDeadlineStaleStandsIn(t *testing.T) {
	const budget = 150 * time.Millisecond
	f := newFake(map[string]canned{
		"http://fast.test/":  {numbers: []int64{1, 5}},
		"http://hang.test/":  {block: true},
		"http://hang2.test/": {block: true},
	})
	f.stale = map[string][]int64{"http://hang.test/": {2, 5, 7}}
	ln := serve(t, New(Config{Source: f, Budget: budget}))
	start := time.Now()
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://fast.test/", "http://hang.test/", "http://hang2.test/"))
	if took := time.Since(start); took > budget+slack {
		t.Errorf("answered after %v; budget %v", took, budget)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[1,2,5,7]}` {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	if got := string(resp.Header.Peek("X-Numbers-Complete")); got != "false" {
		t.Errorf("X-Numbers-Complete %q; want false (stale is not fresh)", got)
	}
	want := outcomes(map[outcome.Outcome]int{outcome.OK: 1, outcome.Stale: 1, outcome.Timeout: 1})
	if got := string(resp.Header.Peek("X-Numbers-Outcomes")); got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}
}

func TestDelayWidensTheMargin(t *testing.T) {
	const budget = 10 * time.Second
	f := newFake(map[string]canned{
		"http://fast.test/": {numbers: []int64{8}},
		"http://hang.test/": {block: true},
	})
	// A scheduling delay of the budget less 100ms leaves under 100ms to wait;
	// without it this request would wait for the hanging upstream 10s.
	h := New(Config{Source: f, Budget: budget, Delay: func() time.Duration { return budget - 100*time.Millisecond }})
	ln := serve(t, h)
	start := time.Now()
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://fast.test/", "http://hang.test/"))
	if took := time.Since(start); took > slack {
		t.Errorf("answered after %v; want within 100ms", took)
	}
	if resp.StatusCode() != 200 || string(resp.Header.Peek("X-Numbers-Complete")) != "false" {
		t.Fatalf("got %d, complete %q", resp.StatusCode(), resp.Header.Peek("X-Numbers-Complete"))
	}
}

// TestAnswerCancelsPendingFetches: when the handler answers at its flush
// time, well before the deadline, it cancels the request's context, so the
// fetch it no longer waits for ends then, not at the deadline.
func TestAnswerCancelsPendingFetches(t *testing.T) {
	const budget = 3 * time.Second
	f := newFake(map[string]canned{"http://hang.test/": {block: true}})
	f.ended = make(chan error, 1)
	// Flush 2.5s before the deadline: the cancellation comes long before it.
	ln := serve(t, New(Config{Source: f, Budget: budget, Margin: Margin{Base: 2500 * time.Millisecond}}))
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://hang.test/"))
	if resp.StatusCode() != 200 {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	if err := <-f.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the pending fetch ended with %v, want context.Canceled (the answer cancels it)", err)
	}
}

func TestMarginFor(t *testing.T) {
	m := Margin{Base: 2 * time.Millisecond, PerNumber: 40}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 2 * time.Millisecond},
		{1, 2*time.Millisecond + 40},
		{1000, 2*time.Millisecond + 40*time.Microsecond},
		{1_000_000, 42 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := m.For(tt.n); got != tt.want {
			t.Errorf("For(%d) = %v; want %v", tt.n, got, tt.want)
		}
	}
	for n := 1; n < 1<<24; n *= 4 {
		if m.For(n) <= m.For(n/4) {
			t.Errorf("For(%d) = %v does not grow over For(%d) = %v", n, m.For(n), n/4, m.For(n/4))
		}
	}
}

func TestFlushTime(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const budget = 100 * time.Millisecond
	deadline := start.Add(budget)
	m := Margin{Base: 2 * time.Millisecond, PerNumber: 1000}
	tests := []struct {
		name string
		m    Margin
		n    int
		want time.Time
	}{
		{"empty", m, 0, deadline.Add(-2 * time.Millisecond)},
		{"grows with n", m, 10_000, deadline.Add(-12 * time.Millisecond)},
		{"clamped to budget", m, 1_000_000, start},
		{"base over budget", Margin{Base: time.Second}, 0, start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.flushTime(deadline, budget, tt.n); !got.Equal(tt.want) {
				t.Fatalf("flushTime = %v; want %v", got.Sub(start), tt.want.Sub(start))
			}
		})
	}
}

func TestCalibrate(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the machine")
	}
	m := Calibrate()
	if m.Base != DefaultMargin.Base || m.PerNumber <= 0 {
		t.Fatalf("Calibrate() = %+v", m)
	}
	// Even on a slow, shared machine a million numbers must fit well inside
	// the default budget (the race detector makes encoding far slower).
	if d := m.For(1_000_000); d > 500*time.Millisecond && !raceEnabled {
		t.Errorf("a million numbers would take a %v margin", d)
	}
}

func TestHandleError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"small buffer", &fasthttp.ErrSmallBuffer{}, fasthttp.StatusRequestHeaderFieldsTooLarge},
		{"timeout", &timeoutErr{}, fasthttp.StatusRequestTimeout},
		{"other", fasthttp.ErrBodyTooLarge, fasthttp.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			HandleError(&ctx, tt.err)
			if ctx.Response.StatusCode() != tt.status {
				t.Fatalf("status %d; want %d", ctx.Response.StatusCode(), tt.status)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if b := ctx.Response.Body(); len(b) < len(`{"error":""}`) || string(b[:10]) != `{"error":"` {
				t.Errorf("body %s is not a JSON error", b)
			}
		})
	}
}

// TestRequestTooLarge sends a request line bigger than the server's read
// buffer: fasthttp reports ErrSmallBuffer and HandleError answers 431.
func TestRequestTooLarge(t *testing.T) {
	ln := serve(t, New(Config{Source: newFake(nil)}))
	long := make([]byte, 16<<10)
	for i := range long {
		long[i] = 'a'
	}
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://a.test/"+string(long)))
	if resp.StatusCode() != fasthttp.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d; want 431", resp.StatusCode())
	}
	if want := `{"error":"request line and headers too large: send fewer or shorter u values"}`; string(resp.Body()) != want {
		t.Errorf("body %s; want %s", resp.Body(), want)
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

// fakeCollections announces and ends collections when the test says, and
// tells the test each time the handler asks for the current one.
type fakeCollections struct {
	lead  atomic.Int64
	asked chan struct{}

	mu               sync.Mutex
	announced, ended chan struct{}
}

func newFakeCollections(lead time.Duration) *fakeCollections {
	c := &fakeCollections{asked: make(chan struct{}, 16), announced: make(chan struct{}), ended: make(chan struct{})}
	c.lead.Store(int64(lead))
	return c
}

func (c *fakeCollections) Next() (announced, ended <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked <- struct{}{}
	return c.announced, c.ended
}

// waitAsked waits, at most 10s, for the handler to call Next.
func (c *fakeCollections) waitAsked(t *testing.T) {
	t.Helper()
	select {
	case <-c.asked:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not ask for the current collection within 10s")
	}
}

func (c *fakeCollections) Lead() time.Duration { return time.Duration(c.lead.Load()) }

func (c *fakeCollections) announce() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.announced)
}

func (c *fakeCollections) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.ended)
	c.announced, c.ended = make(chan struct{}), make(chan struct{})
}

// TestCollectionFlushesDueAnswers: while a collection runs, an answer whose
// flush time falls within its lead comes out at once, whether it was
// waiting when the collection was announced or came in during it; one due
// later keeps waiting.
func TestCollectionFlushesDueAnswers(t *testing.T) {
	const budget = time.Hour
	f := newFake(map[string]canned{"http://hang.test/": {block: true}})
	gc := newFakeCollections(time.Millisecond)
	h := New(Config{Source: f, Budget: budget, Collections: gc})
	ln := serve(t, h)
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type answer struct {
		resp *fasthttp.Response
		err  error
	}
	answered := make(chan answer, 2)
	ask := func() {
		go func() {
			var req fasthttp.Request
			req.SetRequestURI(numbersURI("http://hang.test/"))
			resp := new(fasthttp.Response)
			err := fasthttpDo(c, &req, resp)
			answered <- answer{resp, err}
		}()
	}
	wantAnswer := func(why string) {
		t.Helper()
		select {
		case a := <-answered:
			if a.err != nil {
				t.Fatal(a.err)
			}
			if string(a.resp.Body()) != `{"numbers":[]}` || string(a.resp.Header.Peek("X-Numbers-Complete")) != "false" {
				t.Fatalf("got %d %s, complete %q; want an empty, incomplete answer",
					a.resp.StatusCode(), a.resp.Body(), a.resp.Header.Peek("X-Numbers-Complete"))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer 10s after %s", why)
		}
	}

	ask()
	gc.waitAsked(t) // the request waits for its upstreams
	gc.announce()
	gc.end()
	gc.waitAsked(t) // it has seen the collection end, and asked for the next one
	select {
	case a := <-answered:
		t.Fatalf("answered at a collection an hour before its flush time (lead 1ms): %d %s", a.resp.StatusCode(), a.resp.Body())
	default:
	}
	if n := h.InFlight(); n != 1 {
		t.Fatalf("%d requests in flight; want the one still waiting", n)
	}

	gc.lead.Store(int64(2 * budget))
	gc.announce()
	wantAnswer("a collection announced within its lead")

	ask() // the collection is still under way
	wantAnswer("a request came in during a collection within its lead")
}
