package integration

import (
	"testing"
	"time"
)

// TestServiceAgainstSimulator runs the service's binary against the
// simulator: the classic endpoints made instant and reliable, a hanging and a
// resetting upstream, and a cacheable one that must be fetched only once.
func TestServiceAgainstSimulator(t *testing.T) {
	base := startSimulator(t)
	const budget = 300 * time.Millisecond
	service := startService(t, "-budget", budget.String())

	resp, body, took := get(t, service,
		base+"/primes?delay=0&fail=0",
		base+"/fibo?delay=0&fail=0",
		base+"/numbers?mode=hang",
		base+"/numbers?mode=reset",
	)
	if took > budget+slack {
		t.Errorf("answered after %v; budget %v", took, budget)
	}
	if resp.StatusCode != 200 || body != `{"numbers":[1,2,3,5,7,8,11,13,21]}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("X-Numbers-Outcomes"), "ok=2,cached=0,stale=0,failed=1,denied=0,timeout=1,invalid=0,ejected=0"; got != want {
		t.Errorf("X-Numbers-Outcomes %q; want %q", got, want)
	}

	cacheable := base + "/numbers?n=5&order=asc&seed=3&cc=max-age%3D60"
	for i, want := range []string{
		"ok=1,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=0",
		"ok=0,cached=1,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=0",
	} {
		resp, _, _ := get(t, service, cacheable)
		if got := resp.Header.Get("X-Numbers-Outcomes"); got != want {
			t.Errorf("request %d: X-Numbers-Outcomes %q; want %q", i+1, got, want)
		}
	}
	// The hang once, the reset twice (a connection closed before any answer
	// is retried once: the keep-alive race looks the same), and the
	// cacheable upstream once.
	if n := served(t, base, "/numbers"); n != 4 {
		t.Errorf("simulator saw %d requests for /numbers; want 4", n)
	}
}
