package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"numbers/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

// client makes one connection a request, so that none is left behind.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// quiet is a Config for tests: no calibration, listeners on free ports, no
// log.
func quiet() Config {
	return Config{Addr: "127.0.0.1:0", Admin: "127.0.0.1:0", Answer: Answer{Calibrate: Off},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// started returns a Service of cfg, shut down at the end of the test.
func started(t *testing.T, cfg Config) *Service {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// get fetches path from the admin listener of s.
func get(t *testing.T, s *Service, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.AdminAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := client.Do(req)
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

// TestRunServesUntilCancelled: Run serves the public listener until its
// context ends, then drains and returns nil; nothing is left running.
func TestRunServesUntilCancelled(t *testing.T) {
	s, err := New(quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := client.Get("http://" + s.Addr().String() + "/numbers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"numbers":[]}` {
		t.Fatalf("GET /numbers: %d %s; want an empty answer", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after a clean drain", err)
	}
	if _, err := client.Get("http://" + s.Addr().String() + "/numbers"); err == nil {
		t.Fatal("still serving after Run returned")
	}
}

// TestOverloadMetrics: the wired service exports the overload metrics.
func TestOverloadMetrics(t *testing.T) {
	s := started(t, quiet())
	_, body := get(t, s, "/metrics")
	for _, want := range []string{"numbers_shed_share 0\n", `numbers_shed_total{reason="queue"} 0`, `numbers_shed_total{reason="deadline"} 0`, `numbers_shed_total{reason="cpu"} 0`, "numbers_cpu_busy "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// TestConfigRefused: a setting for a feature that is off, or values the
// service cannot run with, are start-up errors naming the settings.
func TestConfigRefused(t *testing.T) {
	cases := map[string]struct {
		change func(*Config)
		want   string
	}{
		"late trace without admin":   {func(c *Config) { c.LateTrace.On, c.Admin = true, "off" }, "-late-trace"},
		"trace window without trace": {func(c *Config) { c.LateTrace.Window = time.Second }, "-late-trace-window"},
		"hedge without detection":    {func(c *Config) { c.Outliers.Detection = Off }, "-outlier-detection"},
		"outlier setting, detection off": {func(c *Config) {
			c.Outliers.Detection, c.Outliers.Hedge, c.Outliers.Failures = Off, Off, 3
		}, "-outlier-"},
		"retry budget, nothing to pay": {func(c *Config) {
			c.Outliers.Hedge, c.Outliers.Retry, c.Outliers.RetryShare = Off, Off, 0.2
		}, "-retry-budget"},
		"redis lookup without redis":  {func(c *Config) { c.Redis.Lookup = time.Millisecond }, "-redis"},
		"max stale without cache":     {func(c *Config) { c.Cache.Bytes, c.Cache.MaxStale = -1, time.Minute }, "-cache-bytes"},
		"queue limit without stamps":  {func(c *Config) { c.Overload.KernelArrival, c.Overload.QueueLimit = "never", time.Millisecond }, "-kernel-arrival"},
		"budget under twice a margin": {func(c *Config) { c.Budget, c.Answer.Margin = 10*time.Millisecond, 10*time.Millisecond }, "-budget"},
		"admin on the public address": {func(c *Config) { c.Addr, c.Admin = "127.0.0.1:8080", "127.0.0.1:8080" }, "-admin"},
		"redis not a URL":             {func(c *Config) { c.Redis.URL = "127.0.0.1:6379" }, "-redis"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := quiet()
			tc.change(&c)
			s, err := New(c)
			if err == nil {
				s.Shutdown(context.Background()) //nolint:errcheck
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestUpstreamOutliers: outlier detection runs, with its sweeper and its
// metrics, unless it is switched off.
func TestUpstreamOutliers(t *testing.T) {
	for _, detection := range []Switch{Default, On, Off} {
		c := quiet()
		c.Outliers = Outliers{Detection: detection, Hedge: Off}
		s := started(t, c)
		_, body := get(t, s, "/metrics")
		if got, want := strings.Contains(string(body), "numbers_health_hosts{"), detection != Off; got != want {
			t.Errorf("detection %v: host states exported %v; want %v", detection, got, want)
		}
	}
}

// TestLateTraceOnAdmin wires LateTrace, reports answers to the handler's
// Observer, and fetches the trace from the admin listener: 404 before a
// late answer, a Go execution trace after one, and the metrics saw every
// answer.
func TestLateTraceOnAdmin(t *testing.T) {
	c := quiet()
	c.LateTrace = LateTrace{On: true, Window: time.Second, MaxBytes: 4 << 20}
	s := started(t, c)
	observer := s.observer

	observer.Answered(120*time.Millisecond, false, false)
	if resp, body := get(t, s, "/debug/late-trace"); resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("before a late answer: %d %q %s; want a JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	observer.Answered(612*time.Millisecond, true, true)
	s.lateTrace.Stop() // Stop takes the trace asked for before it returns

	resp, body := get(t, s, "/debug/late-trace")
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

	_, body = get(t, s, "/metrics")
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

// TestLateTraceOff: without LateTrace no flight recorder runs, the metrics
// are the Observer, and the route is not served.
func TestLateTraceOff(t *testing.T) {
	s := started(t, quiet())
	if s.lateTrace != nil || s.observer != s.metrics {
		t.Errorf("recorder %v, observer %T; want none, the metrics", s.lateTrace, s.observer)
	}
	if resp, _ := get(t, s, "/debug/late-trace"); resp.StatusCode != 404 {
		t.Errorf("/debug/late-trace: %d with no recorder; want 404", resp.StatusCode)
	}
}

// TestAdminOff: with Admin off there is no admin listener.
func TestAdminOff(t *testing.T) {
	c := quiet()
	c.Admin = "off"
	if s := started(t, c); s.AdminAddr() != "" {
		t.Fatalf("admin listener on %s; want none", s.AdminAddr())
	}
}

// TestAdminIsNotPublic: the public listener serves none of the admin routes.
func TestAdminIsNotPublic(t *testing.T) {
	s := started(t, quiet())
	go s.server.Serve(s.public) //nolint:errcheck // ends at Shutdown
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		resp, err := client.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("public %s: %d; want 404", path, resp.StatusCode)
		}
	}
	rec := httptest.NewRecorder()
	adminMux(s.adminRoutes()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Errorf("admin /metrics: %d", rec.Code)
	}
}
