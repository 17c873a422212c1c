// Package loadshed decides when the service should refuse work because the
// process itself is overloaded: its goroutines wait too long for a CPU.
//
// The signal is the Go scheduler's own latency histogram
// (runtime/metrics "/sched/latencies:seconds": how long goroutines sat
// runnable before running). It rises when the process has more work than
// CPU, and only then: a slow upstream makes requests wait but not the
// scheduler, so slow upstreams never cause shedding. Every Interval a
// Shedder reads the histogram's growth since the last read and adjusts a
// shedding probability: up in proportion to how far the 99th percentile is
// above Target, halved when it is near, dropped when it is well below. The request path only compares a
// random number with that probability.
package loadshed

import (
	"math"
	"math/rand/v2"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

const schedLatencies = "/sched/latencies:seconds"

// Config configures a Shedder.
type Config struct {
	// Interval is how often the scheduler latency is read; zero means 100ms.
	Interval time.Duration
	// Target is the 99th-percentile scheduling latency above which the
	// process counts as overloaded; zero means 10ms.
	Target time.Duration
	// MaxShare caps the share of requests shed; zero means 0.95, so that some
	// requests always get through and show when the overload is over.
	MaxShare float64
}

// Shedder tells whether to shed a request. Create it with Start; the zero
// Shedder never sheds.
type Shedder struct {
	cfg   Config
	share atomic.Uint64 // math.Float64bits of the share of requests to shed
	stop  chan struct{}
	done  chan struct{}
}

// Start returns a Shedder that watches the scheduler until Stop.
func Start(cfg Config) *Shedder {
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Target <= 0 {
		cfg.Target = 10 * time.Millisecond
	}
	if cfg.MaxShare <= 0 || cfg.MaxShare > 1 {
		cfg.MaxShare = 0.95
	}
	s := &Shedder{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go s.watch()
	return s
}

// Shed reports whether to refuse one request now.
func (s *Shedder) Shed() bool {
	share := s.Share()
	return share > 0 && rand.Float64() < share
}

// Share returns the share of requests being shed, 0 to MaxShare.
func (s *Shedder) Share() float64 { return math.Float64frombits(s.share.Load()) }

// Stop ends the watching goroutine; the Shedder then keeps its last share.
func (s *Shedder) Stop() {
	close(s.stop)
	<-s.done
}

// watch samples the scheduler latency every Interval and adjusts the share.
func (s *Shedder) watch() {
	defer close(s.done)
	sample := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(sample)
	prev := copyCounts(sample[0].Value)
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		h := sample[0].Value.Float64Histogram()
		p99, ok := deltaQuantile(h.Buckets, prev, h.Counts, 0.99)
		prev = append(prev[:0], h.Counts...)
		if ok {
			s.share.Store(math.Float64bits(next(s.Share(), p99/s.cfg.Target.Seconds(), s.cfg.MaxShare)))
		}
	}
}

// next returns the share to shed after an interval whose 99th-percentile
// scheduling latency was load times the target: raised by a tenth of the
// excess (capped), halved while the latency is near the target, and dropped
// at once when it is well under it, so that a service that has recovered
// stops refusing work within one interval.
func next(share, load, maxShare float64) float64 {
	switch {
	case load > 1:
		return min(maxShare, share+0.1*min(load-1, 5))
	case load < 0.5:
		return 0
	}
	if share /= 2; share < 0.01 {
		return 0
	}
	return share
}

// copyCounts returns a copy of a histogram value's counts, or nil when the
// metric is not a histogram (an unknown metric on an old runtime).
func copyCounts(v metrics.Value) []uint64 {
	if v.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return append([]uint64(nil), v.Float64Histogram().Counts...)
}

// deltaQuantile returns the q-quantile (the upper bound of its bucket) of
// the observations counted in now but not in prev. ok is false when there
// were none. buckets has one more element than the counts.
func deltaQuantile(buckets []float64, prev, now []uint64, q float64) (float64, bool) {
	if len(prev) != len(now) {
		return 0, false
	}
	var total uint64
	for i := range now {
		total += now[i] - prev[i]
	}
	if total == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range now {
		if seen += now[i] - prev[i]; seen >= rank {
			return buckets[i+1], true
		}
	}
	return buckets[len(buckets)-1], true
}
