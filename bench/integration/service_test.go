package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"numbers/bench/simulator"
)

// TestAgainstSimulator runs the binary against the project's upstream
// simulator: the classic endpoints made instant and reliable, a hanging and a
// resetting upstream, and a cacheable one that must be fetched only once.
func TestAgainstSimulator(t *testing.T) {
	sim, base, err := simulator.Start(simulator.Config{Seed: 1}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Shutdown() }) //nolint:errcheck // best effort at cleanup
	const budget = 300 * time.Millisecond
	p := start(t, "-budget", budget.String())

	resp, body, took := p.get(t, "GET", query(
		base+"/primes?delay=0&fail=0",
		base+"/fibo?delay=0&fail=0",
		base+"/numbers?mode=hang",
		base+"/numbers?mode=reset",
	))
	if took > budget+slack {
		t.Errorf("answered after %v; budget %v", took, budget)
	}
	if resp.StatusCode != 200 || body != `{"numbers":[1,2,3,5,7,8,11,13,21]}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Numbers-Outcomes"), outcomesOf(2, 1, 1); got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}

	cacheable := base + "/numbers?n=5&order=asc&seed=3&cc=max-age%3D60"
	for i, want := range []string{outcomesOf(1, 0, 0), "ok=0,cached=1,stale=0,failed=0,denied=0,timeout=0,invalid=0"} {
		resp, _, _ := p.get(t, "GET", query(cacheable))
		if got := resp.Header.Get("X-Numbers-Outcomes"); got != want {
			t.Errorf("request %d: X-Numbers-Outcomes %q; want %q", i+1, got, want)
		}
	}
	// The hang once, the reset twice (a connection closed before any answer
	// is retried once: the keep-alive race looks the same), and the
	// cacheable upstream once.
	if n := sim.Count("/numbers"); n != 4 {
		t.Errorf("simulator saw %d requests for /numbers; want 4", n)
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
