package resilience

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a fake clock that tests move by hand: no test sleeps.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newDetector returns a Detector on a fake clock, with cfg's other fields.
func newDetector(cfg OutlierConfig) (*Detector, *clock) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	cfg.Now = c.now
	return NewDetector(cfg), c
}

const upstream = "http://a.test:8080"

// fail records n failures of key.
func fail(r *Detector, key string, n int) {
	for range n {
		r.Failure(key)
	}
}

func wantState(t *testing.T, r *Detector, key string, want State) {
	t.Helper()
	if got := r.State(key); got != want {
		t.Fatalf("State(%s) = %v; want %v", key, got, want)
	}
}

func wantAdmit(t *testing.T, r *Detector, key string, want Verdict) {
	t.Helper()
	if got := r.Admit(key); got != want {
		t.Fatalf("Admit(%s) = %d; want %d", key, got, want)
	}
}

func TestKey(t *testing.T) {
	for url, key := range map[string]string{
		"http://a.test/x?y=1":  "http://a.test",
		"http://a.test:8080/x": "http://a.test:8080",
		"https://a.test":       "https://a.test",
		"http://a.test?q":      "http://a.test",
		"http://a.test#f":      "http://a.test",
		"http://[::1]:90/p":    "http://[::1]:90",
		"no-scheme":            "no-scheme",
	} {
		if got := Key(url); got != key {
			t.Errorf("Key(%q) = %q; want %q", url, got, key)
		}
	}
}

func TestUnknownHostIsHealthyAndNotTracked(t *testing.T) {
	r, _ := newDetector(OutlierConfig{})
	wantAdmit(t, r, upstream, Allow)
	wantState(t, r, upstream, Healthy)
	if _, _, ok := r.Latency(upstream); ok {
		t.Error("an unknown upstream has a latency estimate")
	}
	if r.Len() != 0 {
		t.Errorf("Len = %d after asking about an unknown upstream; want 0", r.Len())
	}
}

func TestFailuresInARowEject(t *testing.T) {
	r, _ := newDetector(OutlierConfig{})
	fail(r, upstream, 4)
	wantState(t, r, upstream, Healthy)
	r.Success(upstream, 0) // a beat ends the run...
	fail(r, upstream, 4)
	wantState(t, r, upstream, Healthy)
	if r.Stats.Ejections.Load() != 0 {
		t.Fatal("ejected before the fifth failure in a row")
	}
}

func TestEjectAfterQuiet(t *testing.T) {
	r, c := newDetector(OutlierConfig{})
	r.Success(upstream, 0)
	fail(r, upstream, 5) // five in a row, but the upstream answered just now
	wantState(t, r, upstream, Healthy)
	c.advance(199 * time.Millisecond)
	r.Failure(upstream)
	wantState(t, r, upstream, Healthy)
	c.advance(time.Millisecond) // 200ms without a success: the default Quiet
	r.Failure(upstream)
	wantState(t, r, upstream, Ejected)
	wantAdmit(t, r, upstream, Reject)
	if got := r.Stats.Ejections.Load(); got != 1 {
		t.Errorf("Ejections = %d; want 1", got)
	}
	if got := r.Stats.Rejected.Load(); got != 1 {
		t.Errorf("Rejected = %d; want 1", got)
	}
}

func TestFailureRateEjects(t *testing.T) {
	r, _ := newDetector(OutlierConfig{Failures: -1, MinRequests: 20, FailureRate: 0.5})
	for range 9 {
		r.Success(upstream, 0)
		r.Failure(upstream)
	}
	r.Success(upstream, 0)
	wantState(t, r, upstream, Healthy) // 9 failures of 19: below the volume
	r.Failure(upstream)                // 10 of 20
	wantState(t, r, upstream, Ejected)
}

func TestFailureRateForgetsOldWindows(t *testing.T) {
	r, c := newDetector(OutlierConfig{Failures: -1, MinRequests: 10, FailureRate: 0.5, Window: 10 * time.Second})
	fail(r, upstream, 9)
	for range 2 { // two half-windows: the nine failures are forgotten
		c.advance(5 * time.Second)
		r.sweep()
	}
	r.Success(upstream, 0)
	fail(r, upstream, 1)
	wantState(t, r, upstream, Healthy)
}

func TestRateAndRunCanBeTurnedOff(t *testing.T) {
	r, c := newDetector(OutlierConfig{Failures: -1, FailureRate: -1, MinRequests: 1})
	c.advance(time.Hour)
	fail(r, upstream, 1000)
	wantState(t, r, upstream, Healthy)
}

// eject ejects key with five failures, the upstream having never answered.
func eject(t *testing.T, r *Detector, key string) {
	t.Helper()
	fail(r, key, 5)
	wantState(t, r, key, Ejected)
}

func TestHalfOpenTrials(t *testing.T) {
	r, c := newDetector(OutlierConfig{})
	eject(t, r, upstream)
	c.advance(999 * time.Millisecond)
	wantAdmit(t, r, upstream, Reject)
	c.advance(time.Millisecond) // the 1s base ejection time is over
	wantState(t, r, upstream, HalfOpen)
	wantAdmit(t, r, upstream, Trial)
	wantAdmit(t, r, upstream, Reject) // one trial per interval
	r.Failure(upstream)               // the trial failed: still ejected, no longer ejection
	wantState(t, r, upstream, HalfOpen)
	c.advance(999 * time.Millisecond)
	wantAdmit(t, r, upstream, Reject)
	c.advance(time.Millisecond)
	wantAdmit(t, r, upstream, Trial)
	r.Success(upstream, 3*time.Millisecond)
	wantState(t, r, upstream, Healthy)
	wantAdmit(t, r, upstream, Allow)
	if p, r := r.Stats.Probes.Load(), r.Stats.Restored.Load(); p != 2 || r != 1 {
		t.Errorf("Probes, Restored = %d, %d; want 2, 1", p, r)
	}
}

func TestSuccessWhileEjectedRestores(t *testing.T) {
	r, _ := newDetector(OutlierConfig{})
	eject(t, r, upstream)
	r.Success(upstream, 0) // a fetch started before the ejection answered
	wantState(t, r, upstream, Healthy)
}

func TestEjectionTimeDoublesToCapAndDecays(t *testing.T) {
	r, c := newDetector(OutlierConfig{BaseEjection: time.Second, MaxEjection: 5 * time.Second, Window: 10 * time.Second})
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		eject(t, r, upstream)
		c.advance(want - time.Millisecond)
		wantState(t, r, upstream, Ejected)
		c.advance(time.Millisecond)
		wantState(t, r, upstream, HalfOpen)
		r.Success(upstream, 0)
		c.advance(time.Second) // quiet again, so that five failures eject
	}
	// Healthy for two windows: the count falls by two (5 ejections -> 3),
	// so the next ejection lasts 2^(4-1) = 8s, capped at 5s; three windows
	// more and it is back to the base.
	for range 5 {
		c.advance(10 * time.Second)
		r.sweep()
	}
	eject(t, r, upstream)
	c.advance(time.Second)
	wantState(t, r, upstream, HalfOpen)
}

func TestMaxEjectedPercent(t *testing.T) {
	r, c := newDetector(OutlierConfig{MaxEjectedPercent: 30})
	var hosts []string
	for i := range 10 {
		hosts = append(hosts, fmt.Sprintf("http://h%d", i))
		r.Success(hosts[i], 0)
	}
	c.advance(time.Second)
	eject(t, r, hosts[0]) // always one
	eject(t, r, hosts[1])
	eject(t, r, hosts[2]) // 3 of 10
	fail(r, hosts[3], 5)  // 4 of 10 would be 40 %
	wantState(t, r, hosts[3], Healthy)
	if got := r.Stats.Skipped.Load(); got != 1 {
		t.Errorf("Skipped = %d; want 1", got)
	}
	r.Success(hosts[0], 0)
	r.Failure(hosts[3]) // still failing, and now there is room
	wantState(t, r, hosts[3], Ejected)
}

func TestFewHostsAreNotCapped(t *testing.T) {
	r, _ := newDetector(OutlierConfig{MaxEjectedPercent: 50})
	for _, h := range []string{"http://a", "http://b", "http://c"} {
		eject(t, r, h) // 3 of 3: fewer than capMinHosts tracked
	}
}

func TestOneHostMayAlwaysBeEjected(t *testing.T) {
	r, _ := newDetector(OutlierConfig{MaxEjectedPercent: 1})
	eject(t, r, upstream)
}

func TestLRUBound(t *testing.T) {
	r, _ := newDetector(OutlierConfig{MaxHosts: 3, MaxEjectedPercent: 100})
	eject(t, r, "http://old")
	for i := range 10 {
		r.Failure(fmt.Sprintf("http://h%d", i))
	}
	if r.Len() != 3 {
		t.Fatalf("Len = %d; want the cap, 3", r.Len())
	}
	wantState(t, r, "http://old", Healthy) // forgotten
	if got := r.Stats.Forgotten.Load(); got != 8 {
		t.Errorf("Forgotten = %d; want 8", got)
	}
	if r.ejected != 0 {
		t.Errorf("ejected = %d after the ejected upstream was forgotten; want 0", r.ejected)
	}
	if n := r.Hosts(); n[Healthy] != 3 || n[Ejected] != 0 {
		t.Errorf("Hosts = %v; want 3 healthy", n)
	}
}

func TestHostsByState(t *testing.T) {
	r, c := newDetector(OutlierConfig{MaxEjectedPercent: 100})
	r.Success("http://ok", 0)
	eject(t, r, "http://out")
	eject(t, r, "http://probing")
	c.advance(time.Second)
	r.Success("http://ok", 0)
	fail(r, "http://out", 5) // no change: already ejected
	if n := r.Hosts(); n != [3]int{1, 0, 2} {
		t.Errorf("Hosts = %v; want 1 healthy, 0 ejected, 2 half-open", n)
	}
}

func TestLatencyEstimate(t *testing.T) {
	r, c := newDetector(OutlierConfig{})
	for range minSamples - 1 {
		r.Success(upstream, 4*time.Millisecond)
	}
	if _, _, ok := r.Latency(upstream); ok {
		t.Fatal("an estimate from too few answers")
	}
	for range 100 {
		r.Success(upstream, 4*time.Millisecond)
	}
	p50, p95, ok := r.Latency(upstream)
	if !ok || p50 < 3800*time.Microsecond || p50 > 4200*time.Microsecond || p95 < p50 || p95 > 4200*time.Microsecond {
		t.Fatalf("Latency = %v, %v, %v; want about 4ms", p50, p95, ok)
	}
	// The upstream slows down: within a few sweeps the estimate follows.
	for range 5 {
		for range 50 {
			r.Success(upstream, 40*time.Millisecond)
		}
		c.advance(time.Second)
		r.sweep()
	}
	if _, p95, _ := r.Latency(upstream); p95 < 38*time.Millisecond {
		t.Errorf("p95 = %v after the upstream slowed to 40ms; want about 40ms", p95)
	}
	// No more answers: the weight decays below the threshold.
	for range 30 {
		c.advance(time.Second)
		r.sweep()
	}
	if _, _, ok := r.Latency(upstream); ok {
		t.Error("an estimate survives half a minute without answers")
	}
}

// TestSweeperSweepsUntilStopped: the goroutine Start runs sweeps every
// SweepInterval (a host's latency estimate decays away without answers) and
// ends with Stop, which may be called twice: synctest.Test fails if it is
// left running, and time is the bubble's, so no test waits for real.
func TestSweeperSweepsUntilStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewDetector(OutlierConfig{SweepInterval: time.Second})
		for range 100 {
			r.Success(upstream, 4*time.Millisecond)
		}
		r.Start()
		if _, _, ok := r.Latency(upstream); !ok {
			t.Fatal("no estimate after 100 answers")
		}
		time.Sleep(time.Minute) // the bubble's clock: sixty sweeps
		if _, _, ok := r.Latency(upstream); ok {
			t.Error("the estimate survives a minute of sweeps without answers: the sweeper did not sweep")
		}
		r.Stop()
		r.Stop()
		for range 100 {
			r.Success(upstream, 4*time.Millisecond)
		}
		time.Sleep(time.Minute) // the bubble's clock
		if _, _, ok := r.Latency(upstream); !ok {
			t.Error("the estimate decayed after Stop: the sweeper still sweeps")
		}
	})
}

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{Healthy: "healthy", Ejected: "ejected", HalfOpen: "half-open", 9: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d) = %q; want %q", s, got, want)
		}
	}
}

// TestFloodMemoryBounded names 100,000 distinct hosts, each answering once
// (so that each gets a latency sketch, the worst case): the registry keeps
// MaxHosts of them and its heap stays within what that many records cost.
func TestFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 host records")
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	r := NewDetector(OutlierConfig{})
	for i := range 100_000 {
		key := fmt.Sprintf("http://127.%d.%d.%d:8090", 1+i>>16, i>>8&0xff, i&0xff)
		r.Success(key, time.Duration(1+i%7)*time.Millisecond)
		r.Failure(key)
	}
	grown := int64(heap()) - int64(before)
	t.Logf("100,000 hosts named: %d tracked, heap +%.1f MiB (%.0f bytes a host)", r.Len(), float64(grown)/(1<<20), float64(grown)/float64(r.Len()))
	if r.Len() != 10_000 || r.Stats.Forgotten.Load() != 90_000 {
		t.Errorf("tracked %d, forgot %d; want 10,000 and 90,000", r.Len(), r.Stats.Forgotten.Load())
	}
	if grown > 20<<20 {
		t.Errorf("heap grew %d bytes for 10,000 hosts; want under 20 MiB", grown)
	}
	runtime.KeepAlive(r)
}
