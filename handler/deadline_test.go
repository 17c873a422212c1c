package handler

import (
	"context"
	"errors"
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

// TestCallerDelayWidensTheMargin: what the planner keeps back for the
// caller's delay moves the answer earlier.
func TestCallerDelayWidensTheMargin(t *testing.T) {
	const budget = 10 * time.Second
	f := newFake(map[string]canned{
		"http://fast.test/": {numbers: []int64{8}},
		"http://hang.test/": {block: true},
	})
	// A caller's delay of the budget less 100ms leaves under 100ms to wait;
	// without it this request would wait for the hanging upstream 10s.
	h := New(Config{Source: f, Budget: budget, Planner: plannerWith(time.Millisecond, budget-100*time.Millisecond)})
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
	ln := serve(t, New(Config{Source: f, Budget: budget, Planner: plannerWith(2500*time.Millisecond, 0)}))
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://hang.test/"))
	if resp.StatusCode() != 200 {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
	if err := <-f.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the pending fetch ended with %v, want context.Canceled (the answer cancels it)", err)
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
