package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCallerDeadline: a caller's shorter budget, in either header, is kept
// by the real binary against a hanging upstream; a malformed one is a 400.
func TestCallerDeadline(t *testing.T) {
	const budget = 3 * time.Second
	p := start(t, "-budget", budget.String())
	good := upstream(t, numbersBody(`{"numbers":[2,1]}`))
	hang := upstream(t, hanging(nil))
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
			req, err := http.NewRequest("GET", "http://"+p.addr+query(good, hang), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(tt.key, tt.value)
			req.Close = true
			begin := time.Now()
			resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(begin); took > tt.within+slack {
				t.Errorf("answered after %v; the caller asked for %v of the %v budget", took, tt.within, budget)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s; want %d", resp.StatusCode, body, tt.status)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %s; want %s", body, tt.body)
			}
			if tt.status == 400 && !strings.HasPrefix(string(body), `{"error":"bad grpc-timeout`) {
				t.Errorf("body %s; want a JSON error naming grpc-timeout", body)
			}
		})
	}
}

// TestAdmissionMetrics: the wired service exports the admission metrics.
func TestAdmissionMetrics(t *testing.T) {
	cfg, err := parseConfig([]string{"-calibrate=false", "-shed-latency", "0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	rec := httptest.NewRecorder()
	svc.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"numbers_queue_delay_seconds 0\n", `numbers_shed_total{reason="queue"} 0`, `numbers_shed_total{reason="deadline"} 0`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
