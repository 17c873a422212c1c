package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"numbers/telemetry"
)

// TestLateTraceOnAdmin wires -late-trace as newService does, reports answers
// to the handler's Observer, and fetches the trace from the admin listener's
// routes: 404 before a late answer, a Go execution trace after one, and the
// metrics saw every answer.
func TestLateTraceOnAdmin(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg, err := parseConfig([]string{"-late-trace", "-late-trace-window", "1s", "-late-trace-bytes", "4MiB"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	metrics := telemetry.New(cfg.budget)
	rec, observer, err := startLateTrace(cfg, metrics)
	if err != nil {
		t.Fatal(err)
	}
	svc := &service{metrics: metrics, lateTrace: rec, stop: []func(){rec.Stop}}
	defer svc.close()
	admin := httptest.NewServer(adminMux(svc.adminRoutes()))
	defer admin.Close()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", admin.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	observer.Answered(120*time.Millisecond, false, false)
	if resp, body := get("/debug/late-trace"); resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("before a late answer: %d %q %s; want a JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	observer.Answered(612*time.Millisecond, true, true)
	svc.close() // Stop takes the trace asked for before it returns

	resp, body := get("/debug/late-trace")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("after a late answer: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(body) <= 16 || !regexp.MustCompile(`^go 1\.\d+ trace\x00+$`).Match(body[:16]) {
		t.Fatalf("not a Go execution trace: %d bytes beginning %q", len(body), body[:min(len(body), 16)])
	}
	if !regexp.MustCompile(`^attachment; filename="late-trace-\d{8}T\d{6}\.\d{3}Z\.trace"$`).MatchString(resp.Header.Get("Content-Disposition")) {
		t.Errorf("Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
	if got := resp.Header.Get("X-Late-Trace-Elapsed"); got != "612ms" {
		t.Errorf("X-Late-Trace-Elapsed %q; want 612ms", got)
	}

	_, body = get("/metrics")
	lines := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		"numbers_late_responses_total 1",
		"numbers_late_traces_total 1",
		`numbers_late_traces_skipped_total{reason="interval"} 0`,
		`numbers_late_traces_skipped_total{reason="busy"} 0`,
		`numbers_late_traces_skipped_total{reason="failed"} 0`,
	} {
		if !lines[want] {
			t.Errorf("no line %q in /metrics", want)
		}
	}
}

// TestLateTraceOff: by default, without -late-trace, or without an admin listener to
// serve it, no flight recorder runs and the metrics are the Observer.
func TestLateTraceOff(t *testing.T) {
	for _, args := range [][]string{{}, {"-late-trace=false"}, {"-late-trace", "-admin", ""}} {
		cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		metrics := telemetry.New(cfg.budget)
		rec, observer, err := startLateTrace(cfg, metrics)
		if err != nil || rec != nil || observer != metrics {
			t.Errorf("%v: recorder %v, observer %T, err %v; want none, the metrics, nil", args, rec, observer, err)
		}
		svc := &service{metrics: metrics, lateTrace: rec}
		if _, ok := svc.adminRoutes()["/debug/late-trace"]; ok {
			t.Errorf("%v: /debug/late-trace served with no recorder", args)
		}
	}
}

// TestLateTraceRoute runs the binary with an admin listener and -late-trace:
// the route answers 404 until an answer is late.
func TestLateTraceRoute(t *testing.T) {
	p := start(t, "-admin", "127.0.0.1:0", "-late-trace")
	m := regexp.MustCompile(`admin=(\S+) .*late_trace=true`).FindStringSubmatch(p.log())
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
