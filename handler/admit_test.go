package handler

import (
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/deadline"
	"numbers/outcome"
	"numbers/overload"
)

// admitFunc is an Admitter made of a function.
type admitFunc func(sojourn time.Duration, inFlight int64) overload.Reason

func (f admitFunc) Admit(sojourn time.Duration, inFlight int64) overload.Reason {
	return f(sojourn, inFlight)
}

// plannerWith returns a planner with a margin of base and no per-number
// cost, keeping delay back for the caller (a pressure of 1 times delay).
func plannerWith(base, delay time.Duration) *deadline.Planner {
	return deadline.New(deadline.Config{Margin: deadline.Margin{Base: base}, MaxDelay: delay,
		Pressure: func() float64 { return 1 }})
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	refused  []overload.Reason
	answered int
	late     int
}

func (r *recorder) Upstream(outcome.Outcome) {}

func (r *recorder) Answered(_ time.Duration, _, late bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered++
	if late {
		r.late++
	}
}

func (r *recorder) Refused(reason overload.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, reason)
}

func (r *recorder) counts() (refused []overload.Reason, answered, late int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]overload.Reason(nil), r.refused...), r.answered, r.late
}

// wantRefused checks that resp is a 503 with Retry-After: 1 and r's body.
func wantRefused(t *testing.T, resp *fasthttp.Response, r overload.Reason) {
	t.Helper()
	if resp.StatusCode() != fasthttp.StatusServiceUnavailable {
		t.Fatalf("status %d %s; want 503", resp.StatusCode(), resp.Body())
	}
	if got := string(resp.Header.Peek("Retry-After")); got != "1" {
		t.Errorf("Retry-After %q; want 1", got)
	}
	if got := string(resp.Header.ContentType()); got != contentTypeJSON {
		t.Errorf("Content-Type %q", got)
	}
	if want := `{"error":"` + r.Message() + `"}`; string(resp.Body()) != want {
		t.Errorf("body %s; want %s", resp.Body(), want)
	}
}

// TestAdmitRefuses: when admission says no, the request is refused with 503
// and the reason's words before anything else is looked at (even a
// malformed caller budget), no upstream is asked, and the refusal is
// counted with its reason.
func TestAdmitRefuses(t *testing.T) {
	f := newFake(map[string]canned{"http://a.test/": {numbers: []int64{1}}})
	var mu sync.Mutex
	var sojourns []time.Duration
	var inFlight []int64
	verdict := overload.Queue
	obs := &recorder{}
	h := New(Config{Source: f, Observer: obs, Overload: admitFunc(func(sojourn time.Duration, n int64) overload.Reason {
		mu.Lock()
		defer mu.Unlock()
		sojourns, inFlight = append(sojourns, sojourn), append(inFlight, n)
		return verdict
	})})
	ln := serve(t, h)

	wantRefused(t, roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://a.test/")), overload.Queue)
	mu.Lock()
	verdict = overload.CPU
	mu.Unlock()
	wantRefused(t, roundTripHeader(t, ln, numbersURI("http://a.test/"), grpcTimeoutHeader, "nope"), overload.CPU)
	if got := f.callCounts()["http://a.test/"]; got != 0 {
		t.Errorf("refused requests fetched %d times", got)
	}
	if h.InFlight() != 0 {
		t.Errorf("InFlight = %d after refusals", h.InFlight())
	}
	if resp := roundTrip(t, ln, fasthttp.MethodGet, "http://numbers.test/healthz"); resp.StatusCode() != 200 {
		t.Errorf("healthz while refusing: %d", resp.StatusCode())
	}

	mu.Lock()
	verdict = overload.Admitted
	mu.Unlock()
	if resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://a.test/")); resp.StatusCode() != 200 {
		t.Fatalf("admitted request: %d %s", resp.StatusCode(), resp.Body())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(sojourns) != 3 {
		t.Fatalf("Admit called %d times; want 3, once per /numbers request", len(sojourns))
	}
	for i, s := range sojourns {
		if s < 0 || s > slack {
			t.Errorf("sojourn %v; want from 0 to %v", s, slack)
		}
		if inFlight[i] != 1 {
			t.Errorf("request %d: told %d in flight; want 1, itself", i, inFlight[i])
		}
	}
	refused, answered, _ := obs.counts()
	if len(refused) != 2 || refused[0] != overload.Queue || refused[1] != overload.CPU {
		t.Errorf("Refused told %v; want queue, then cpu", refused)
	}
	if answered != 3 {
		t.Errorf("Answered told %d times; want 3", answered)
	}
}

// TestRefusedWithoutTimeLeft: a request with less than deadline.MinWait
// left once the margin and the caller's delay are kept back is refused at
// once, never started.
func TestRefusedWithoutTimeLeft(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		header string // grpc-timeout, if any
	}{
		{"delay as long as the budget", Config{Budget: 10 * time.Second, Planner: plannerWith(time.Millisecond, 10*time.Second)}, ""},
		{"margin over the budget", Config{Budget: 20 * time.Millisecond, Planner: plannerWith(50*time.Millisecond, 0)}, ""},
		{"margin equal to the budget", Config{Budget: 50 * time.Millisecond, Planner: plannerWith(50*time.Millisecond, 0)}, ""},
		{"caller's budget taken by the delay", Config{Budget: 10 * time.Second, Planner: plannerWith(time.Millisecond, 2*time.Second)}, "2S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(map[string]canned{"http://hang.test/": {block: true}})
			obs := &recorder{}
			tt.cfg.Source, tt.cfg.Observer = f, obs
			h := New(tt.cfg)
			ln := serve(t, h)
			start := time.Now()
			var resp *fasthttp.Response
			if tt.header != "" {
				resp = roundTripHeader(t, ln, numbersURI("http://hang.test/"), grpcTimeoutHeader, tt.header)
			} else {
				resp = roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://hang.test/"))
			}
			if took := time.Since(start); took > slack {
				t.Errorf("refused after %v; want at once", took)
			}
			wantRefused(t, resp, overload.Deadline)
			if got := f.callCounts()["http://hang.test/"]; got != 0 {
				t.Errorf("refused request fetched %d times", got)
			}
			if refused, _, _ := obs.counts(); len(refused) != 1 || refused[0] != overload.Deadline {
				t.Errorf("Refused told %v; want deadline", refused)
			}
		})
	}
}

// TestJustEnoughTimeLeft: with 100ms left past the margin the request is
// served, and answered then with what arrived.
func TestJustEnoughTimeLeft(t *testing.T) {
	f := newFake(map[string]canned{"http://hang.test/": {block: true}})
	const budget = 10 * time.Second
	h := New(Config{Source: f, Budget: budget, Planner: plannerWith(budget-100*time.Millisecond, 0)})
	ln := serve(t, h)
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://hang.test/"))
	if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[]}` {
		t.Fatalf("got %d %s", resp.StatusCode(), resp.Body())
	}
}
