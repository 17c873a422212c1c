package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"numbers/bench"
	"numbers/bench/simulator"
	"numbers/cache"
	"numbers/fetcher"
	"numbers/internal/leaktest"
	"numbers/internal/testbuild"
	"numbers/outcome"
	"numbers/resilience"
	"numbers/source"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

// slack is the generous allowance over a deadline or budget the tests set
// themselves: far more than any scheduling delay, far less than the waits
// that a missed deadline would cause.
const slack = time.Second

// startSimulator starts the upstream simulator on loopback and returns its
// base URL; it shuts down at the test's end.
func startSimulator(t *testing.T) string {
	t.Helper()
	srv, base, err := simulator.Start(simulator.Config{Seed: 1}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
	})
	return base
}

// served returns how many requests the simulator at base has received for
// path, as its /stats reports them.
func served(t *testing.T, base, path string) uint64 {
	t.Helper()
	resp, err := noKeepAlive.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats struct{ Paths map[string]uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatalf("%s/stats: %v", base, err)
	}
	return stats.Paths[path]
}

// startService builds the service's binary, runs it with args on a free
// loopback port, without its admin listener and without any NUMBERS_
// variable, and returns its base URL. It is stopped at the test's end.
func startService(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "numbers.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child has its own copy
	binary, err := bench.BuildService(context.Background(), dir, log, testbuild.Flags...)
	if err != nil {
		t.Fatalf("%v\n%s", err, logOf(dir))
	}
	addr, err := bench.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NUMBERS_") })
	// Refusals for a busy machine or a queue are off unless args turn them
	// on, as in cmd/numbers' tests: these tests are not about overload, and
	// a test machine that is merely busy must not get 503s (a loaded run of
	// the suite once did).
	tuning := filepath.Join(dir, "tuning.json")
	if err := os.WriteFile(tuning, []byte(`{"busy-limit": 1, "queue-limit": "off"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-addr", addr, "-admin", "off", "-tuning", tuning}, args...)
	p, err := bench.StartProcess(context.Background(), binary, args, env, log, addr, 20*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, logOf(dir))
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%v\n%s", err, logOf(dir))
		}
	})
	return "http://" + addr
}

// logOf returns what the build and the service wrote to their log in dir.
func logOf(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "numbers.log"))
	return string(b)
}

// noKeepAlive opens a fresh connection for every request.
var noKeepAlive = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get asks the service's /numbers for the upstreams and returns the
// response, its body and how long both took.
func get(t *testing.T, service string, upstreams ...string) (resp *http.Response, body string, took time.Duration) {
	t.Helper()
	u := service + "/numbers?" + url.Values{"u": upstreams}.Encode()
	start := time.Now()
	resp, err := noKeepAlive.Get(u)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, body, time.Since(start)
}

// chain returns the source chain the service builds (cache, coalescing,
// resilience, a real fetcher), with the cache configured by cc and fetches
// allowed to go on for background after their caller's deadline.
func chain(cc cache.Config, background time.Duration) *source.Source {
	upstream := resilience.New(resilience.Config{Fetcher: fetcher.New(fetcher.Config{})})
	return source.New(source.Config{Upstream: upstream, Cache: cache.New(cc), Coalesce: true, Background: background})
}

// fetchSync fetches url through s for a request whose deadline is dl, and
// waits for the delivery or for dl: then the outcome is Timeout, as the
// handler counts an upstream still pending at its deadline that has no stale
// entry to stand in (no test here has one).
func fetchSync(t *testing.T, s *source.Source, dl time.Time, url string) ([]int64, outcome.Outcome) {
	t.Helper()
	ctx, cancel := context.WithDeadline(t.Context(), dl)
	defer cancel()
	type delivery struct {
		nums []int64
		o    outcome.Outcome
	}
	ch := make(chan delivery, 1) // deliver is called once and must not block
	s.Fetch(ctx, url, func(nums []int64, o outcome.Outcome) { ch <- delivery{nums, o} })
	select {
	case d := <-ch:
		return d.nums, d.o
	case <-ctx.Done():
		return nil, outcome.Timeout
	}
}
