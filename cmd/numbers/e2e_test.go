package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"numbers/internal/testupstream"
)

// outcomesOf renders the X-Numbers-Outcomes value for ok, failed and timeout counts.
func outcomesOf(ok, failed, timeout int) string {
	return fmt.Sprintf("ok=%d,cached=0,stale=0,failed=%d,denied=0,timeout=%d,invalid=0,ejected=0", ok, failed, timeout)
}

// TestMisbehavingUpstreams names one good and one misbehaving upstream per
// request: the answer holds the good one's numbers, within the budget. The
// body limit is small, so that refusing the 50 MB body takes far less than
// the budget even on a busy machine under the race detector (at the default
// 8 MiB it once took longer than the budget and came out a timeout).
func TestMisbehavingUpstreams(t *testing.T) {
	const budget = 500 * time.Millisecond
	p := start(t, "-budget", budget.String(), "-max-body", "64KiB")
	good := testupstream.Start(t, testupstream.JSON(`{"Numbers": [5, 1, 3, 1, -2]}`)).URL
	tests := []struct {
		name string
		url  string
		want []string // acceptable X-Numbers-Outcomes values
	}{
		{"hanging", testupstream.Start(t, testupstream.Hanging(nil)).URL, []string{outcomesOf(1, 0, 1)}},
		{"trickling", testupstream.Start(t, testupstream.Trickling).URL, []string{outcomesOf(1, 0, 1)}},
		{"50 MB body", testupstream.Start(t, testupstream.Huge).URL, []string{outcomesOf(1, 1, 0)}},
		{"redirect loop", testupstream.Start(t, testupstream.RedirectLoop).URL + "/loop", []string{outcomesOf(1, 1, 0)}},
		{"lying length", testupstream.Start(t, testupstream.LyingLength).URL, []string{outcomesOf(1, 1, 0)}},
		{"status 500", testupstream.Start(t, testupstream.Reply(500, `{"numbers":[666]}`)).URL, []string{outcomesOf(1, 1, 0)}},
		{"float", testupstream.Start(t, testupstream.JSON(`{"numbers":[1,2.5]}`)).URL, []string{outcomesOf(1, 1, 0)}},
		{"refused", testupstream.RefusedURL(t), []string{outcomesOf(1, 1, 0)}},
		{"reset", testupstream.ResettingURL(t), []string{outcomesOf(1, 1, 0)}},
		// Without DNS the look-up may fail at once or hang: either is fine.
		{"non-resolving host", "http://nothing.invalid/", []string{outcomesOf(1, 1, 0), outcomesOf(1, 0, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, took := p.get(t, "GET", query(good, tt.url))
			if took > budget+slack {
				t.Errorf("answered after %v; budget %v", took, budget)
			}
			if resp.StatusCode != 200 || body != `{"numbers":[-2,1,3,5]}` {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := resp.Header.Get("X-Numbers-Complete"); got != "false" {
				t.Errorf("X-Numbers-Complete %q; want false", got)
			}
			got := resp.Header.Get("X-Numbers-Outcomes")
			ok := false
			for _, w := range tt.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("X-Numbers-Outcomes %q; want one of %q", got, tt.want)
			}
			if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, "total;dur=") {
				t.Errorf("Server-Timing %q", st)
			}
		})
	}
}

func TestGoodAnswer(t *testing.T) {
	p := start(t, "-budget", "300ms")
	a := testupstream.Start(t, testupstream.JSON(`{"numbers":[3,1,2,3]}`)).URL
	b := testupstream.Start(t, testupstream.JSON(` { "other": "x", "numbers" : [ 10 , -1 ] } `)).URL
	resp, body, _ := p.get(t, "GET", query(a, b, a, "ftp://x", ""))
	if resp.StatusCode != 200 || body != `{"numbers":[-1,1,2,3,10]}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Numbers-Outcomes"), "ok=2,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=2,ejected=0"; got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}
	if got := resp.Header.Get("X-Numbers-Complete"); got != "true" {
		t.Errorf("X-Numbers-Complete %q; want true", got)
	}
}

func TestBadRequests(t *testing.T) {
	p := start(t, "-budget", "200ms")
	tests := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"POST", "POST", "/numbers", 405, `{"error":"method not allowed: use GET or HEAD"}`},
		{"unknown path", "GET", "/nope", 404, `{"error":"no such endpoint: use GET /numbers?u=URL"}`},
		{"100 KB query", "GET", query("http://a.test/" + strings.Repeat("a", 100<<10)), 431,
			`{"error":"request line and headers too large: send fewer or shorter u values"}`},
		{"no u", "GET", "/numbers", 200, `{"numbers":[]}`},
		{"healthz", "GET", "/healthz", 200, `{"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, took := p.get(t, tt.method, tt.path)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Fatalf("got %d %s; want %d %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if took > 200*time.Millisecond+slack {
				t.Errorf("answered after %v", took)
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
}

// runExit runs the binary to completion and returns its exit code and stderr.
func runExit(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return 0, stderr.String()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return -1, ""
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in the one line of stderr
	}{
		{"budget not a duration", nil, []string{"-budget", "nope"}, "-budget"},
		{"budget too small", nil, []string{"-budget", "1ms"}, "-budget"},
		{"max-body not a size", nil, []string{"-max-body", "lots"}, "-max-body"},
		{"unknown flag", nil, []string{"-nope"}, "nope"},
		{"a tuning setting as a flag", nil, []string{"-margin", "10ms"}, "margin"},
		{"stray argument", nil, []string{"extra"}, "extra"},
		{"env budget", []string{"NUMBERS_BUDGET=x"}, nil, "NUMBERS_BUDGET"},
		{"env max-urls", []string{"NUMBERS_MAX_URLS=-3"}, nil, "max-urls"},
		{"env late-trace", []string{"NUMBERS_LATE_TRACE=maybe"}, nil, "NUMBERS_LATE_TRACE"},
		{"late-trace without admin", nil, []string{"-late-trace", "-admin", "off"}, "-admin"},
		{"hedge without outlier detection", nil, []string{"-outlier-detection=false"}, "-hedge"},
		{"env job-budget", []string{"NUMBERS_JOB_BUDGET=soon"}, nil, "NUMBERS_JOB_BUDGET"},
		{"job-budget over the max", nil, []string{"-job-budget", "10m"}, "-job-budget"},
		{"env max-jobs", []string{"NUMBERS_MAX_JOBS=lots"}, nil, "NUMBERS_MAX_JOBS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := runExit(t, tt.env, append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d; want 2\n%s", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr is not one line:\n%s", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not name %q", stderr, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	code, stderr := runExit(t, nil, "-h")
	if code != 0 {
		t.Fatalf("exit %d; want 0", code)
	}
	for _, f := range []string{"addr", "admin", "tuning", "budget", "max-urls", "max-body", "cache-bytes", "coalesce",
		"outlier-detection", "hedge", "retry", "job-budget", "max-jobs", "redis", "late-trace", "memory-limit",
		"max-in-flight", "queue-limit", "margin", "calibrate", "background", "sse-ping", "job-lease"} {
		if !strings.Contains(stderr, "  -"+f+" ") && !strings.Contains(stderr, "  -"+f+"\n") {
			t.Errorf("-h does not document -%s", f)
		}
	}
	if !strings.Contains(stderr, "NUMBERS_MAX_URLS") {
		t.Error("-h does not explain the environment twins")
	}
}

// TestSIGTERMDrains sends SIGTERM while a request waits on a hanging
// upstream: the request still gets its full answer and the process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	const budget = 300 * time.Millisecond
	p := start(t, "-budget", budget.String())
	entered := make(chan struct{}, 1)
	slow := testupstream.Start(t, testupstream.Hanging(entered)).URL
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[7]}`)).URL

	type answer struct {
		resp *http.Response
		body string
		took time.Duration
	}
	answers := make(chan answer, 1)
	go func() {
		resp, body, took := p.get(t, "GET", query(good, slow))
		answers <- answer{resp, body, took}
	}()
	<-entered
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-answers
	if a.resp.StatusCode != 200 || a.body != `{"numbers":[7]}` {
		t.Fatalf("in-flight request got %d %s", a.resp.StatusCode, a.body)
	}
	if got, want := a.resp.Header.Get("X-Numbers-Outcomes"), outcomesOf(1, 0, 1); got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}
	if a.took > budget+slack {
		t.Errorf("answered after %v; budget %v", a.took, budget)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM\n%s", p.log())
	}
	if p.err != nil {
		t.Fatalf("exit: %v\n%s", p.err, p.log())
	}
	if !strings.Contains(p.log(), "numbers stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", p.log())
	}
}

// TestAccessLog checks that -access-log writes one line per request, and
// that without it no request is logged. The log is read after the process
// has exited, so every line it wrote is in.
func TestAccessLog(t *testing.T) {
	for _, on := range []bool{true, false} {
		args := []string{}
		if on {
			args = append(args, "-access-log")
		}
		p := start(t, args...)
		p.get(t, "GET", "/numbers?u=ftp://x")
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("still running 20s after SIGTERM\n%s", p.log())
		}
		logged := strings.Contains(p.log(), `msg=request method=GET uri="/numbers?u=ftp://x" status=200`)
		if logged != on {
			t.Errorf("-access-log=%v: request logged %v; log:\n%s", on, logged, p.log())
		}
	}
}
