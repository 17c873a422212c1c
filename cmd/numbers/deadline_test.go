package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"numbers/internal/testupstream"
)

// TestCallerDeadline: a caller's shorter budget, in either header, is kept
// by the real binary against a hanging upstream; a malformed one is a 400.
func TestCallerDeadline(t *testing.T) {
	const budget = 3 * time.Second
	p := start(t, "-budget", budget.String())
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[2,1]}`)).URL
	hang := testupstream.Start(t, testupstream.Hanging(nil)).URL
	tests := []struct {
		name, key, value string
		within           time.Duration
		status           int
		body             string
	}{
		{"grpc-timeout", "grpc-timeout", "300m", 300 * time.Millisecond, 200, `{"numbers":[1,2]}`},
		{"envoy", "x-envoy-expected-rq-timeout-ms", "300", 300 * time.Millisecond, 200, `{"numbers":[1,2]}`},
		{"malformed", "grpc-timeout", "300ms", 0, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, took := p.get(t, "GET", query(good, hang), tt.key, tt.value)
			if took > tt.within+slack {
				t.Errorf("answered after %v; the caller asked for %v of the %v budget", took, tt.within, budget)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s; want %d", resp.StatusCode, body, tt.status)
			}
			if tt.body != "" && body != tt.body {
				t.Errorf("body %s; want %s", body, tt.body)
			}
			if tt.status == 400 && !strings.HasPrefix(body, `{"error":"bad grpc-timeout`) {
				t.Errorf("body %s; want a JSON error naming grpc-timeout", body)
			}
		})
	}
}

// TestKernelArrival pipelines two requests on one connection: the second is
// sent while the first waits 300ms on a hanging upstream, so it waits unread
// in the kernel for nearly that long. Dated from the kernel, that wait counts:
// in its Server-Timing, and against a caller's budget shorter than the wait,
// which is refused at once rather than answered late.
func TestKernelArrival(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the kernel's arrival time is read on Linux only")
	}
	// No queue limit: the second request's wait behind the first is what
	// the budget must count, and the limit would refuse it first.
	p := startWith(t, nil, map[string]any{"kernel-arrival": "always"}, "-budget", "2s")
	entered := make(chan struct{}, 2)
	hang := testupstream.Start(t, testupstream.Hanging(entered)).URL
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[7]}`)).URL
	tests := []struct {
		name   string
		header string // of the second request
		status int
	}{
		{"served, the wait counted", "", 200},
		{"refused: the caller's budget went by in the kernel", "grpc-timeout: 100m\r\n", 503},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A URL of its own: a fetch of the last one may still be going on
			// in the background, and a new request would join it.
			hang := fmt.Sprintf("%s/?case=%d", hang, i)
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: numbers\r\ngrpc-timeout: 300m\r\n\r\n", query(hang)); err != nil {
				t.Fatal(err)
			}
			select { // the first request is being served: the server reads nothing more until it is answered
			case <-entered:
			case <-time.After(20 * time.Second):
				t.Fatal("the first request never reached its upstream")
			}
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: numbers\r\n%sConnection: close\r\n\r\n", query(good), tt.header); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for i, want := range []int{200, tt.status} {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i+1, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != want {
					t.Fatalf("response %d: %d %s; want %d", i+1, resp.StatusCode, body, want)
				}
				if i == 0 {
					continue
				}
				switch want {
				case 200:
					// The first request is answered about 290ms after it arrived, and
					// the second arrived right after it; allow for the kernel's tick.
					if total := serverTimingTotal(t, resp.Header.Get("Server-Timing")); total < 150*time.Millisecond {
						t.Errorf("Server-Timing total %v; want the ~290ms it waited in the kernel", total)
					}
				case 503:
					if resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), "too little of the budget") {
						t.Errorf("Retry-After %q, body %s", resp.Header.Get("Retry-After"), body)
					}
				}
			}
		})
	}
}

// serverTimingTotal returns the total;dur= of a Server-Timing value.
func serverTimingTotal(t *testing.T, v string) time.Duration {
	t.Helper()
	_, ms, ok := strings.Cut(v, "total;dur=")
	f, err := strconv.ParseFloat(ms, 64)
	if !ok || err != nil {
		t.Fatalf("Server-Timing %q has no total", v)
	}
	return time.Duration(f * float64(time.Millisecond))
}

// TestLateTraceRoute runs the binary with an admin listener and -late-trace:
// the route answers 404 until an answer is late.
func TestLateTraceRoute(t *testing.T) {
	p := start(t, "-admin", "127.0.0.1:0", "-late-trace")
	m := regexp.MustCompile(`admin=(\S+) .*late_trace="{On:true`).FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no admin address or late_trace=true in the start line:\n%s", p.log())
	}
	resp, err := http.Get("http://" + m[1] + "/debug/late-trace")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(body) != `{"error":"no late answer has been traced yet"}`+"\n" {
		t.Errorf("got %d %s; want the recorder's 404", resp.StatusCode, body)
	}
}
