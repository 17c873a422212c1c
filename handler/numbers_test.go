package handler

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/outcome"
	"numbers/overload"
)

// outcomes renders an X-Numbers-Outcomes value from counts by outcome name.
func outcomes(counts map[outcome.Outcome]int) string {
	var parts []string
	for o := outcome.Outcome(0); o < outcome.Count; o++ {
		parts = append(parts, fmt.Sprintf("%s=%d", o, counts[o]))
	}
	return strings.Join(parts, ",")
}

func TestNumbers(t *testing.T) {
	answers := map[string]canned{
		"http://a.test/x":  {numbers: []int64{1, 3, 5}},
		"http://b.test/y":  {numbers: []int64{-7, 2, 3, 8}},
		"http://c.test/":   {numbers: nil},
		"http://d.test/":   {outcome: outcome.Failed},
		"http://e.test/":   {outcome: outcome.Denied},
		"http://f.test/":   {numbers: []int64{9}, outcome: outcome.Cached},
		"http://g.test/":   {numbers: []int64{4}, outcome: outcome.Stale},
		"http://big.test/": {numbers: []int64{-9223372036854775808, 9223372036854775807}},
	}
	tests := []struct {
		name     string
		us       []string
		body     string
		complete string
		counts   map[outcome.Outcome]int
		calls    map[string]int
	}{
		{"no u", nil, `{"numbers":[]}`, "true", nil, map[string]int{}},
		{"one", []string{"http://a.test/x"}, `{"numbers":[1,3,5]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1}, map[string]int{"http://a.test/x": 1}},
		{"merged", []string{"http://a.test/x", "http://b.test/y", "http://c.test/"}, `{"numbers":[-7,1,2,3,5,8]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 3}, map[string]int{"http://a.test/x": 1, "http://b.test/y": 1, "http://c.test/": 1}},
		{"int64 extremes", []string{"http://big.test/"}, `{"numbers":[-9223372036854775808,9223372036854775807]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1}, map[string]int{"http://big.test/": 1}},
		{"same URL twice fetched once", []string{"http://a.test/x", "http://a.test/x"}, `{"numbers":[1,3,5]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1}, map[string]int{"http://a.test/x": 1}},
		{"two spellings fetched once", []string{"http://a.test/x", "HTTP://A.Test:80/x#frag"}, `{"numbers":[1,3,5]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1}, map[string]int{"http://a.test/x": 1}},
		{"invalid counted never fetched", []string{"ftp://x", "", "::bad", "/rel", "http://a.test:0/", "http://a.test/x"}, `{"numbers":[1,3,5]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1, outcome.Invalid: 5}, map[string]int{"http://a.test/x": 1}},
		{"only invalid", []string{"ftp://x"}, `{"numbers":[]}`, "true",
			map[outcome.Outcome]int{outcome.Invalid: 1}, map[string]int{}},
		{"failed and denied", []string{"http://a.test/x", "http://d.test/", "http://e.test/"}, `{"numbers":[1,3,5]}`, "false",
			map[outcome.Outcome]int{outcome.OK: 1, outcome.Failed: 1, outcome.Denied: 1},
			map[string]int{"http://a.test/x": 1, "http://d.test/": 1, "http://e.test/": 1}},
		{"all failed", []string{"http://d.test/"}, `{"numbers":[]}`, "false",
			map[outcome.Outcome]int{outcome.Failed: 1}, map[string]int{"http://d.test/": 1}},
		{"cached contributes", []string{"http://f.test/", "http://a.test/x"}, `{"numbers":[1,3,5,9]}`, "true",
			map[outcome.Outcome]int{outcome.OK: 1, outcome.Cached: 1}, map[string]int{"http://f.test/": 1, "http://a.test/x": 1}},
		{"stale contributes, incomplete", []string{"http://g.test/"}, `{"numbers":[4]}`, "false",
			map[outcome.Outcome]int{outcome.Stale: 1}, map[string]int{"http://g.test/": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(answers)
			ln := serve(t, New(Config{Source: f, Budget: 5 * time.Second}))
			for _, method := range []string{fasthttp.MethodGet, fasthttp.MethodHead} {
				resp := roundTrip(t, ln, method, numbersURI(tt.us...))
				if resp.StatusCode() != 200 {
					t.Fatalf("%s: status %d, body %s", method, resp.StatusCode(), resp.Body())
				}
				if method == fasthttp.MethodGet && string(resp.Body()) != tt.body {
					t.Errorf("body %s; want %s", resp.Body(), tt.body)
				}
				if method == fasthttp.MethodHead && len(resp.Body()) != 0 {
					t.Errorf("HEAD has a body: %q", resp.Body())
				}
				if ct := string(resp.Header.ContentType()); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", method, ct)
				}
				if got := string(resp.Header.Peek("X-Numbers-Complete")); got != tt.complete {
					t.Errorf("%s: X-Numbers-Complete %q; want %q", method, got, tt.complete)
				}
				if got, want := string(resp.Header.Peek("X-Numbers-Outcomes")), outcomes(tt.counts); got != want {
					t.Errorf("%s: X-Numbers-Outcomes %q; want %q", method, got, want)
				}
				if st := string(resp.Header.Peek("Server-Timing")); !strings.Contains(st, "total;dur=") {
					t.Errorf("%s: Server-Timing %q has no total;dur=", method, st)
				}
			}
			got := f.callCounts()
			for u, n := range tt.calls {
				if got[u] != 2*n { // once for GET, once for HEAD
					t.Errorf("%s fetched %d times over GET and HEAD; want %d", u, got[u], 2*n)
				}
			}
			if len(got) != len(tt.calls) {
				t.Errorf("fetched %v; want only %v", got, tt.calls)
			}
		})
	}
}

func TestNumbersTooManyURLs(t *testing.T) {
	f := newFake(nil)
	ln := serve(t, New(Config{Source: f, MaxURLs: 64}))
	var us []string
	for i := range 65 {
		us = append(us, fmt.Sprintf("http://h%d.test/", i))
	}
	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI(us...))
	if resp.StatusCode() != 400 {
		t.Fatalf("status %d; want 400", resp.StatusCode())
	}
	if want := `{"error":"too many URLs: at most 64 distinct URLs per request"}`; string(resp.Body()) != want {
		t.Errorf("body %s; want %s", resp.Body(), want)
	}
	if ct := string(resp.Header.ContentType()); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := f.callCounts(); len(got) != 0 {
		t.Errorf("fetched %v; want nothing", got)
	}
	// 64 distinct plus repeats and invalid values are fine.
	resp = roundTrip(t, ln, fasthttp.MethodGet, numbersURI(append(us[:64:64], us[0], "ftp://x")...))
	if resp.StatusCode() != 200 {
		t.Fatalf("64 URLs: status %d; want 200", resp.StatusCode())
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name, method, uri string
		status            int
		body, allow       string
	}{
		{"POST numbers", "POST", "/numbers?u=http://a.test/", 405, `{"error":"method not allowed: use GET or HEAD"}`, "GET, HEAD"},
		{"PUT numbers", "PUT", "/numbers", 405, `{"error":"method not allowed: use GET or HEAD"}`, "GET, HEAD"},
		{"POST healthz", "POST", "/healthz", 405, `{"error":"method not allowed: use GET or HEAD"}`, "GET, HEAD"},
		{"unknown path", "GET", "/nope", 404, `{"error":"no such endpoint: use GET /numbers?u=URL"}`, ""},
		{"root", "GET", "/", 404, `{"error":"no such endpoint: use GET /numbers?u=URL"}`, ""},
		{"numbers trailing slash", "GET", "/numbers/", 404, `{"error":"no such endpoint: use GET /numbers?u=URL"}`, ""},
		{"healthz", "GET", "/healthz", 200, `{"status":"ok"}`, ""},
		{"readyz", "GET", "/readyz", 200, `{"status":"ready"}`, ""},
		{"no u direct", "GET", "/numbers", 200, `{"numbers":[]}`, ""},
	}
	h := New(Config{Source: newFake(nil)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := direct(h, tt.method, tt.uri)
			if ctx.Response.StatusCode() != tt.status || string(ctx.Response.Body()) != tt.body {
				t.Fatalf("%s %s = %d %s; want %d %s", tt.method, tt.uri, ctx.Response.StatusCode(), ctx.Response.Body(), tt.status, tt.body)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := string(ctx.Response.Header.Peek("Allow")); got != tt.allow {
				t.Errorf("Allow %q; want %q", got, tt.allow)
			}
		})
	}
}

func TestReadyzDrain(t *testing.T) {
	h := New(Config{Source: newFake(nil)})
	if ctx := direct(h, "GET", "/readyz"); ctx.Response.StatusCode() != 200 {
		t.Fatalf("before Drain: %d", ctx.Response.StatusCode())
	}
	h.Drain()
	ctx := direct(h, "GET", "/readyz")
	if ctx.Response.StatusCode() != 503 || string(ctx.Response.Body()) != `{"status":"draining"}` {
		t.Fatalf("after Drain: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if ctx := direct(h, "GET", "/healthz"); ctx.Response.StatusCode() != 200 {
		t.Fatalf("healthz after Drain: %d", ctx.Response.StatusCode())
	}
}

func TestMaxInFlight(t *testing.T) {
	f := newFake(map[string]canned{"http://slow.test/": {block: true}})
	f.entered = make(chan string, 1)
	h := New(Config{Source: f, Budget: 10 * time.Second, Overload: overload.New(overload.Config{MaxInFlight: 1})})
	ln := serve(t, h)

	var wg sync.WaitGroup
	defer wg.Wait()
	first := make(chan *fasthttp.Response, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Dial()
		if err != nil {
			t.Errorf("dial: %v", err)
			first <- nil
			return
		}
		defer c.Close()
		var req fasthttp.Request
		req.SetRequestURI(numbersURI("http://slow.test/"))
		req.SetConnectionClose()
		resp := new(fasthttp.Response)
		if err := fasthttpDo(c, &req, resp); err != nil {
			t.Errorf("first request: %v", err)
			resp = nil
		}
		first <- resp
	}()
	<-f.entered // the first request is in flight
	if n := h.InFlight(); n != 1 {
		t.Errorf("InFlight = %d; want 1", n)
	}

	resp := roundTrip(t, ln, fasthttp.MethodGet, numbersURI("http://other.test/"))
	if resp.StatusCode() != 503 {
		t.Fatalf("second request: status %d; want 503", resp.StatusCode())
	}
	if got := string(resp.Header.Peek("Retry-After")); got == "" {
		t.Error("503 without Retry-After")
	}
	if want := `{"error":"overloaded: too many requests in flight, retry later"}`; string(resp.Body()) != want {
		t.Errorf("body %s; want %s", resp.Body(), want)
	}
	if got := f.callCounts()["http://other.test/"]; got != 0 {
		t.Errorf("shed request fetched %d times", got)
	}
	// Health endpoints are not shed.
	if resp := roundTrip(t, ln, fasthttp.MethodGet, "http://numbers.test/healthz"); resp.StatusCode() != 200 {
		t.Errorf("healthz while full: %d", resp.StatusCode())
	}

	close(f.release)
	r := <-first
	if r == nil {
		return
	}
	if r.StatusCode() != 200 || string(r.Body()) != `{"numbers":[]}` {
		t.Fatalf("first request: %d %s", r.StatusCode(), r.Body())
	}
	if h.InFlight() != 0 {
		t.Errorf("InFlight = %d after the answer; want 0", h.InFlight())
	}
}
