package admission

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ms = time.Millisecond

// step is one request: picked up at ms after the test's origin, having
// waited sojourn, and whether CoDel should admit it.
type step struct {
	at      time.Duration
	sojourn time.Duration
	admit   bool
}

func TestAdmit(t *testing.T) {
	// Target 5ms, interval 100ms: while backed up, sojourns over 10ms are refused.
	tests := []struct {
		name  string
		steps []step
	}{
		{"short sojourns never refused", []step{
			{0, 1 * ms, true}, {50 * ms, 2 * ms, true}, {100 * ms, 1 * ms, true},
			{150 * ms, 400 * ms, true}, // a burst: the last interval had short ones
			{200 * ms, 1 * ms, true}, {300 * ms, 1 * ms, true},
		}},
		{"nothing refused in the first interval", []step{
			{0, 300 * ms, true}, {50 * ms, 300 * ms, true}, {99 * ms, 300 * ms, true},
		}},
		{"standing queue: stale refused, fresh admitted", []step{
			{0, 20 * ms, true}, {50 * ms, 30 * ms, true},
			{100 * ms, 30 * ms, false}, // closes an interval whose smallest was 20ms
			{110 * ms, 8 * ms, true},
			{120 * ms, 10 * ms, true}, // at the cutoff, not over it
			{130 * ms, 11 * ms, false},
			{140 * ms, 0, true},
		}},
		{"one short sojourn clears the interval", []step{
			{0, 20 * ms, true}, {40 * ms, 3 * ms, true}, {80 * ms, 50 * ms, true},
			{100 * ms, 50 * ms, true},
		}},
		{"smallest at the target is not backed up", []step{
			{0, 5 * ms, true}, {50 * ms, 9 * ms, true},
			{100 * ms, 200 * ms, true},
		}},
		{"smallest just over the target is", []step{
			{0, 5*ms + 1, true}, {50 * ms, 9 * ms, true},
			{100 * ms, 200 * ms, false},
		}},
		{"refused requests are measured: still backed up", []step{
			{0, 50 * ms, true},
			{100 * ms, 50 * ms, false}, {150 * ms, 60 * ms, false},
			{200 * ms, 50 * ms, false},
		}},
		{"recovers one interval after the queue drains", []step{
			{0, 50 * ms, true},
			{100 * ms, 50 * ms, false}, {150 * ms, 1 * ms, true}, // the queue drained
			{200 * ms, 50 * ms, true}, // the interval 100-200 had a short one
		}},
		{"an interval ends exactly at its end", []step{
			{0, 50 * ms, true}, {100*ms - 1, 50 * ms, true}, {100 * ms, 50 * ms, false},
		}},
		{"an interval starts with the request that closes the last", []step{
			{0, 50 * ms, true},
			{130 * ms, 1 * ms, true}, // closes 0-100 (backed up), opens 130-230
			{200 * ms, 50 * ms, false},
			{230 * ms, 50 * ms, true}, // 130-230 had 1ms: not backed up
		}},
		{"after an idle minute the last interval still counts", []step{
			{0, 50 * ms, true},
			{time.Minute, 50 * ms, false},
			{time.Minute + 10*ms, 1 * ms, true},
		}},
	}
	origin := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{Target: 5 * ms, Interval: 100 * ms})
			for i, s := range tt.steps {
				if got := c.Admit(origin.Add(s.at), s.sojourn); got != s.admit {
					t.Fatalf("step %d (at %v, sojourn %v): Admit = %v; want %v", i, s.at, s.sojourn, got, s.admit)
				}
			}
		})
	}
}

func TestSojourn(t *testing.T) {
	c := New(Config{Target: 5 * ms, Interval: 100 * ms})
	origin := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := c.Sojourn(); got != 0 {
		t.Fatalf("Sojourn before any interval = %v; want 0", got)
	}
	c.Admit(origin, 30*ms)
	c.Admit(origin.Add(10*ms), 12*ms)
	c.Admit(origin.Add(20*ms), 40*ms)
	if got := c.Sojourn(); got != 0 {
		t.Fatalf("Sojourn during the first interval = %v; want 0", got)
	}
	c.Admit(origin.Add(100*ms), 2*ms)
	if got := c.Sojourn(); got != 12*ms {
		t.Fatalf("Sojourn = %v; want 12ms, the smallest of the finished interval", got)
	}
	c.Admit(origin.Add(200*ms), 7*ms)
	if got := c.Sojourn(); got != 2*ms {
		t.Fatalf("Sojourn = %v; want 2ms", got)
	}
}

func TestNew(t *testing.T) {
	c := New(Config{})
	if c.target != 5*ms || c.interval != 100*ms || c.cutoff != 10*ms {
		t.Fatalf("defaults: target %v, interval %v, cutoff %v", c.target, c.interval, c.cutoff)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New with Interval <= Target did not panic")
		}
	}()
	New(Config{Target: 100 * ms, Interval: 100 * ms})
}

// TestConcurrent runs Admit from many goroutines, for the race detector: a
// standing queue is refused whatever the interleaving.
func TestConcurrent(t *testing.T) {
	c := New(Config{Target: 5 * ms, Interval: 100 * ms})
	origin := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Admit(origin, 50*ms)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				at := origin.Add(100*ms + time.Duration(g*100+i)*time.Microsecond)
				if c.Admit(at, 50*ms) {
					t.Errorf("goroutine %d, request %d admitted in a standing queue", g, i)
					return
				}
				_ = c.Sojourn()
			}
		}()
	}
	wg.Wait()
}
