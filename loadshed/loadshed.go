// Package loadshed decides when the service should refuse work because the
// process itself is overloaded: it has more work than CPU.
//
// Two signals say so, and only CPU overload moves them (a slow upstream makes
// requests wait, but uses no CPU):
//
//   - CPU use: the process's CPU time (getrusage) over the interval, as a
//     share of GOMAXPROCS CPUs. Over 100% means work is arriving faster than
//     it is done, and requests queue unread in socket buffers, where the
//     runtime does not see them wait.
//   - scheduling latency: the Go scheduler's histogram of how long runnable
//     goroutines waited for a P (runtime/metrics "/sched/latencies:seconds"),
//     which also rises when other processes starve this one of CPU.
//
// Every Interval a Shedder turns the worse of the two into a load (1 is the
// limit) and adjusts a shedding probability: up in steps while over the
// limit, held just under it, down by a quarter below that, to zero once
// under half. The request path only compares a random number with that
// probability.
//
// A probability thins the arrivals but does not bound the work already
// admitted: under CPU-bound overload every admitted request shares the
// CPUs with all the others, and all of them come out late or incomplete
// together. So the scheduling latency alone (a queue for the CPUs, which a
// request waiting for its upstreams does not join) also drives a limit on
// the requests in flight: while it is over LimitTarget two intervals in a
// row, the limit falls to four fifths of the most requests seen in flight;
// it is held just under target, raised by a quarter below that, and lifted
// once under half, so that requests that only wait for slow upstreams are
// not held back by it for long. Measured on 2 shared cores at 8 times the
// capacity of a CPU-bound workload: without it a third of the upstreams
// missed the flush and hundreds of answers were late; with it every answer
// was complete and on time.
package loadshed

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

const schedLatencies = "/sched/latencies:seconds"

// Config configures a Shedder.
type Config struct {
	// Interval is how often the signals are read; zero means 50ms.
	Interval time.Duration
	// Target is the 99th-percentile scheduling latency above which the
	// process counts as overloaded; zero means 10ms.
	Target time.Duration
	// MaxShare caps the share of requests shed; zero means 0.95, so that some
	// requests always get through and show when the overload is over.
	MaxShare float64
	// MaxCPU is the share of GOMAXPROCS CPUs the process may use before it
	// counts as overloaded; zero means 1 (all of them: with system time and
	// the runtime's own threads a saturated process measures above 1).
	MaxCPU float64
	// LimitTarget is the 99th-percentile scheduling latency above which the
	// in-flight limit falls; zero means a fifth of Target. It is lower than
	// Target because a request is scheduled many times (each upstream's
	// read, decode and merge), and its waits add up: with 50ms each, an
	// answer ready in 10ms of CPU can take the whole budget.
	LimitTarget time.Duration
	// MinLimit is the lowest the in-flight limit goes; zero means 16.
	MinLimit int64
}

// Shedder tells whether to shed a request. Create it with Start; the zero
// Shedder never sheds.
type Shedder struct {
	cfg   Config
	share atomic.Uint64 // math.Float64bits of the share of requests to shed
	sched atomic.Int64  // the last interval's p99 scheduling latency, in nanoseconds
	limit atomic.Int64  // requests allowed in flight; 0 is no limit
	peak  atomic.Int64  // the most requests seen in flight this interval
	stop  chan struct{}
	done  chan struct{}
}

// Start returns a Shedder that watches the scheduler until Stop.
func Start(cfg Config) *Shedder {
	if cfg.Interval <= 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	if cfg.MaxCPU <= 0 {
		cfg.MaxCPU = 1
	}
	if cfg.Target <= 0 {
		cfg.Target = 10 * time.Millisecond
	}
	if cfg.MaxShare <= 0 || cfg.MaxShare > 1 {
		cfg.MaxShare = 0.95
	}
	if cfg.LimitTarget <= 0 {
		cfg.LimitTarget = cfg.Target / 5
	}
	if cfg.MinLimit <= 0 {
		cfg.MinLimit = 16
	}
	s := &Shedder{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go s.watch()
	return s
}

// Shed reports whether to refuse one request now, inFlight being how many
// are in flight with it: more than the in-flight limit, or drawn in the
// share being shed.
func (s *Shedder) Shed(inFlight int64) bool {
	if s.overLimit(inFlight) {
		return true
	}
	share := s.Share()
	return share > 0 && rand.Float64() < share
}

// overLimit reports whether inFlight requests, the one asking included, are
// more than the in-flight limit allows now, and remembers how many were.
func (s *Shedder) overLimit(inFlight int64) bool {
	for peak := s.peak.Load(); inFlight > peak && !s.peak.CompareAndSwap(peak, inFlight); peak = s.peak.Load() {
	}
	limit := s.limit.Load()
	return limit > 0 && inFlight > limit
}

// Limit returns how many requests may be in flight now; 0 means no limit.
func (s *Shedder) Limit() int64 { return s.limit.Load() }

// Share returns the share of requests being shed, 0 to MaxShare.
func (s *Shedder) Share() float64 { return math.Float64frombits(s.share.Load()) }

// SchedLatency returns the 99th percentile of the scheduling latency in the
// last interval: how long a goroutine woken now may wait for a CPU.
func (s *Shedder) SchedLatency() time.Duration { return time.Duration(s.sched.Load()) }

// Stop ends the watching goroutine; the Shedder then keeps its last share.
func (s *Shedder) Stop() {
	close(s.stop)
	<-s.done
}

// watch reads both signals every Interval and adjusts the share.
func (s *Shedder) watch() {
	defer close(s.done)
	sample := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(sample)
	prev := copyCounts(sample[0].Value)
	prevCPU, _ := cpuTime()
	prevAt := time.Now()
	var queuedBefore float64 // the previous interval's scheduling latency, in LimitTargets
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		var load, queued float64
		metrics.Read(sample)
		h := sample[0].Value.Float64Histogram()
		if p99, ok := deltaQuantile(h.Buckets, prev, h.Counts, 0.99); ok {
			load = p99 / s.cfg.Target.Seconds()
			queued = p99 / s.cfg.LimitTarget.Seconds()
			s.sched.Store(int64(min(p99, time.Hour.Seconds()) * 1e9)) // the last bucket is unbounded
		}
		// The limit follows the lower of the last two intervals: a queue
		// that lasts, not one burst (a collection, a wave of arrivals),
		// which a share or the admission control already absorb.
		s.limit.Store(nextLimit(s.limit.Load(), s.peak.Swap(0), min(queued, queuedBefore), s.cfg.MinLimit))
		queuedBefore = queued
		prev = append(prev[:0], h.Counts...)
		now := time.Now()
		if cpu, ok := cpuTime(); ok {
			used := (cpu - prevCPU).Seconds() / (now.Sub(prevAt).Seconds() * float64(runtime.GOMAXPROCS(0)))
			load = max(load, used/s.cfg.MaxCPU)
			prevCPU = cpu
		}
		prevAt = now
		s.share.Store(math.Float64bits(next(s.Share(), load, s.cfg.MaxShare)))
	}
}

// next returns the share to shed after an interval whose load (1 is the
// limit) was load: raised by 5 points plus a tenth of the excess (capped)
// while over the limit; held while just under it (from 0.9), so that the
// requests queued meanwhile drain; lowered by a quarter below that; dropped
// at once when under half, so that a service that has recovered stops
// refusing work within one interval.
func next(share, load, maxShare float64) float64 {
	switch {
	case load > 1:
		return min(maxShare, share+0.05+0.1*min(load-1, 5))
	case load >= 0.9:
		return share // just under the limit: the queue drains, keep shedding
	case load < 0.5:
		return 0
	}
	if share *= 0.75; share < 0.01 {
		return 0
	}
	return share
}

// nextLimit returns the in-flight limit after an interval whose scheduling
// latency was queued times the target and in which at most peak requests
// were in flight. Over target: four fifths of the lower of peak and limit,
// not under floor (unchanged if no request was in flight). From 0.9 of it:
// held. Below that: a quarter more. Under half: none (0).
func nextLimit(limit, peak int64, queued float64, floor int64) int64 {
	switch {
	case queued > 1:
		if peak == 0 { // no request was in flight: they are not the cause
			return limit
		}
		if limit > 0 {
			peak = min(peak, limit)
		}
		return max(floor, peak*4/5)
	case queued >= 0.9 || limit == 0:
		return limit
	case queued < 0.5:
		return 0
	}
	return limit + max(1, limit/4)
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
