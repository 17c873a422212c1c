package loadshed

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDeltaQuantile(t *testing.T) {
	buckets := []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}
	tests := []struct {
		name      string
		prev, now []uint64
		q         float64
		want      float64
		ok        bool
	}{
		{"no new observations", []uint64{5, 5, 5, 5}, []uint64{5, 5, 5, 5}, 0.99, 0, false},
		{"all in the first bucket", []uint64{0, 0, 0, 0}, []uint64{100, 0, 0, 0}, 0.99, 0.001, true},
		{"only the delta counts", []uint64{1000, 0, 0, 0}, []uint64{1000, 0, 10, 0}, 0.99, 0.1, true},
		{"p99 in the tail", []uint64{0, 0, 0, 0}, []uint64{98, 0, 1, 1}, 0.99, 0.1, true},
		{"p99 past the last bound", []uint64{0, 0, 0, 0}, []uint64{90, 0, 0, 10}, 0.99, math.Inf(1), true},
		{"shape changed", []uint64{0, 0}, []uint64{1, 1, 1, 1}, 0.99, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := deltaQuantile(buckets, tt.prev, tt.now, tt.q)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("deltaQuantile = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name              string
		share, load, want float64
	}{
		{"idle stays at zero", 0, 0.2, 0},
		{"at the limit is not overload, and shedding holds", 0.4, 1, 0.4},
		{"just under the limit holds", 0.4, 0.9, 0.4},
		{"just under the limit does not start shedding", 0, 0.95, 0},
		{"well under the limit stops shedding at once", 0.9, 0.4, 0},
		{"just over the limit raises five points", 0, 1.0001, 0.05001},
		{"twice the limit raises fifteen points", 0, 2, 0.15},
		{"far over is capped per step", 0, 100, 0.55},
		{"infinite latency is capped per step", 0.2, math.Inf(1), 0.75},
		{"never above the cap", 0.9, 50, 0.95},
		{"near the limit lowers a quarter", 0.8, 0.5, 0.6},
		{"tiny shares drop to zero", 0.012, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := next(tt.share, tt.load, 0.95); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("next(%v, %v) = %v, want %v", tt.share, tt.load, got, tt.want)
			}
		})
	}
}

func TestZeroShedderNeverSheds(t *testing.T) {
	var s Shedder
	for range 1000 {
		if s.Shed(1) {
			t.Fatal("the zero Shedder shed a request")
		}
	}
}

// TestShedsUnderCPUOverloadAndRecovers saturates the scheduler with many more
// spinning goroutines than CPUs, which makes runnable goroutines wait tens of
// milliseconds, and expects shedding to start; once the spinners stop it
// expects shedding to end. Both waits are bounded.
func TestShedsUnderCPUOverloadAndRecovers(t *testing.T) {
	s := Start(Config{Interval: 20 * time.Millisecond, Target: 20 * time.Millisecond})
	defer s.Stop()

	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 20 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; !stop.Load(); x++ {
				_ = x * x
			}
		}()
	}
	waitFor(t, "shedding to start under overload", func() bool { return s.Share() > 0 })
	waitFor(t, "a scheduling latency to be measured", func() bool { return s.SchedLatency() > 0 })
	stop.Store(true)
	wg.Wait()
	waitFor(t, "shedding to stop after the overload", func() bool { return s.Share() == 0 })
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNextLimit walks the in-flight limit through an overload and its end,
// one interval at a time.
func TestNextLimit(t *testing.T) {
	tests := []struct {
		name        string
		limit, peak int64
		queued      float64
		want        int64
	}{
		{"no limit while under target", 0, 500, 0.95, 0},
		{"over target: four fifths of the peak", 0, 500, 3, 400},
		{"over target, fewer in flight than the limit", 400, 200, 2, 160},
		{"over target, the limit binding", 400, 400, 1.5, 320},
		{"never under the floor", 20, 20, 5, 16},
		{"over target with nothing in flight: unchanged", 0, 0, 5, 0},
		{"over target with nothing in flight keeps a limit", 100, 0, 5, 100},
		{"just under target: held", 160, 160, 0.9, 160},
		{"below that: a quarter more", 160, 160, 0.7, 200},
		{"small limits still grow", 2, 2, 0.7, 3},
		{"under half: lifted", 160, 160, 0.4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextLimit(tt.limit, tt.peak, tt.queued, 16); got != tt.want {
				t.Fatalf("nextLimit(%d, %d, %v) = %d, want %d", tt.limit, tt.peak, tt.queued, got, tt.want)
			}
		})
	}
}

// TestOverLimit: a request over the limit is refused, and the most seen in
// flight is what the next interval starts from.
func TestOverLimit(t *testing.T) {
	var s Shedder
	for _, n := range []int64{3, 9, 5} {
		if s.overLimit(n) {
			t.Fatalf("OverLimit(%d) with no limit", n)
		}
	}
	if got := s.peak.Load(); got != 9 {
		t.Fatalf("peak %d, want 9", got)
	}
	s.limit.Store(nextLimit(0, s.peak.Swap(0), 2, 4))
	if s.Limit() != 7 {
		t.Fatalf("limit %d, want 7 (four fifths of 9)", s.Limit())
	}
	if s.overLimit(7) || !s.overLimit(8) {
		t.Fatal("the limit of 7 must admit the 7th request in flight and refuse the 8th")
	}
}
