// Package gcpace starts the process's garbage collections itself, by the
// rule the runtime would follow (collect once the heap has grown by Percent
// over what the last collection left live), so that it can announce each
// one just before it starts.
//
// A collection on a machine whose CPUs are shared with other busy processes
// stalls the process now and then: all of its threads must meet at a safe
// point, and goroutines that allocate during the mark are made to help it.
// In the hostile soak, answers whose flush timer fell in a mark phase came
// out 2-10 ms past the 500 ms budget, 1-5 in 90,000, clustered at each
// collection. Told beforehand, the handler writes the answers due within
// the next Lead at once, before the collection starts, rather than during
// it; the answers planned later are not touched, so the cost is a few tens
// of milliseconds of waiting for a few dozen requests per collection.
//
// Go's runtime has no hook at the start of a collection (runtime/metrics and
// finalizers only show one that has ended), hence this package: it turns
// the runtime's own pacing off (debug.SetGCPercent(-1)), reads the heap
// every Poll and calls runtime.GC when the heap reaches its trigger. A
// memory limit (debug.SetMemoryLimit) still applies, and the trigger stays
// short of where the runtime would start a collection for it, so that the
// runtime only collects unannounced when this package is starved of CPU.
package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// The runtime's metrics the Pacer reads.
const (
	heapObjects = "/memory/classes/heap/objects:bytes" // live and not yet swept
	heapLive    = "/gc/heap/live:bytes"                // marked live by the last collection
	heapGoal    = "/gc/heap/goal:bytes"                // where the runtime would have the heap end its next cycle
	gcCycles    = "/gc/cycles/total:gc-cycles"         // completed cycles
)

// minHeap is the smallest trigger, as the runtime's own (4 MiB at GOGC=100).
const minHeap = 4 << 20

// leadHistory is how many collections Lead looks back over.
const leadHistory = 8

// Config configures a Pacer.
type Config struct {
	// Percent is how much the heap must grow, in percent of what the last
	// collection left live, before the next collection, as GOGC. Negative
	// is taken as zero.
	Percent int
	// Poll is how often the heap is read; zero means 5ms.
	Poll time.Duration
	// MaxLead bounds Lead; zero means 100ms.
	MaxLead time.Duration
}

// heap is what the Pacer reads of the runtime at each poll.
type heap struct {
	objects, live, goal, cycles uint64
}

// Stats counts what a Pacer did; read it, never write it.
type Stats struct {
	Collections atomic.Uint64 // collections announced and started
}

// Pacer runs the garbage collector and announces each collection. Create it
// with Start; its methods are safe for concurrent use.
type Pacer struct {
	cfg  Config
	next atomic.Pointer[chan struct{}] // closed at the next announcement
	lead atomic.Int64                  // nanoseconds

	// Stats counts the collections.
	Stats Stats

	// The runtime, or fakes in tests.
	read    func() heap
	collect func()
	tick    <-chan time.Time
	now     func() time.Time
	release func() // run calls it last, before done closes; nil does nothing

	stop, done chan struct{}
}

// Start turns the runtime's own pacing off and returns a Pacer that
// collects until Stop, which gives pacing back to the runtime.
func Start(cfg Config) *Pacer {
	cfg = withDefaults(cfg)
	ticker := time.NewTicker(cfg.Poll)
	p := newPacer(cfg, readRuntime(), runtime.GC, ticker.C, time.Now)
	old := debug.SetGCPercent(-1)
	p.release = func() {
		ticker.Stop()
		debug.SetGCPercent(old)
	}
	go p.run()
	return p
}

func withDefaults(cfg Config) Config {
	cfg.Percent = max(cfg.Percent, 0)
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.MaxLead <= 0 {
		cfg.MaxLead = 100 * time.Millisecond
	}
	return cfg
}

// newPacer returns a Pacer that reads the heap with read, collects with
// collect, polls at each tick and tells time with now; run starts it.
func newPacer(cfg Config, read func() heap, collect func(), tick <-chan time.Time, now func() time.Time) *Pacer {
	p := &Pacer{cfg: cfg, read: read, collect: collect, tick: tick, now: now,
		stop: make(chan struct{}), done: make(chan struct{})}
	c := make(chan struct{})
	p.next.Store(&c)
	p.lead.Store(int64(cfg.MaxLead)) // until a collection has been timed
	return p
}

// Next returns a channel that is closed when the next collection is
// announced; after it closes, Next returns the channel of the one after.
func (p *Pacer) Next() <-chan struct{} { return *p.next.Load() }

// Lead returns how long the next collection is expected to disturb the
// process: the longest of the last eight from announcement to the end of
// marking, with a quarter more, at most MaxLead. Answers due to be written
// within Lead of an announcement are best written at once.
func (p *Pacer) Lead() time.Duration { return time.Duration(p.lead.Load()) }

// Stop stops collecting, after the collection under way if any, and gives
// the pacing back to the runtime at the percent it had before Start.
func (p *Pacer) Stop() {
	close(p.stop)
	<-p.done
}

// run polls the heap and collects when it reaches the trigger, until stop.
func (p *Pacer) run() {
	defer close(p.done)
	if p.release != nil {
		defer p.release()
	}
	var marks [leadHistory]time.Duration
	var n int
	var rest time.Time // no collection before it: never more than half the time collecting
	for p.wait() {
		h := p.read()
		if h.objects < trigger(h.live, h.goal, p.cfg.Percent) || p.now().Before(rest) {
			continue
		}
		start := p.now()
		p.announce()
		// One poll for the answers woken by the announcement to be
		// written before the collection starts.
		if !p.wait() {
			return
		}
		collected := make(chan struct{})
		go func() {
			defer close(collected)
			p.collect()
		}()
		p.Stats.Collections.Add(1)
		marks[n%leadHistory] = p.awaitMark(h.cycles, collected).Sub(start)
		n++
		p.lead.Store(int64(lead(marks[:min(n, leadHistory)], p.cfg.MaxLead)))
		<-collected // the sweep, done by collect, ends it
		rest = p.now().Add(p.now().Sub(start))
	}
}

// wait waits for the next poll, and reports false once stopped.
func (p *Pacer) wait() bool {
	select {
	case <-p.tick:
		return true
	case <-p.stop:
		return false
	}
}

// announce closes the channel Next returned, after putting the next one in
// its place, so that a goroutine woken by it finds the new one.
func (p *Pacer) announce() {
	c := make(chan struct{})
	old := p.next.Swap(&c)
	close(*old)
}

// awaitMark returns when the collection started after cycles completed
// ended its mark, as seen at a poll (the completed-cycle count moves then),
// or when collect returned, whichever it sees first.
func (p *Pacer) awaitMark(cycles uint64, collected <-chan struct{}) time.Time {
	for {
		select {
		case <-collected:
			return p.now()
		case <-p.tick:
			if p.read().cycles > cycles {
				return p.now()
			}
		}
	}
}

// trigger returns the heap size at which to collect: percent over the heap
// live after the last collection, but no further than three fifths of the
// way to the runtime's goal (the memory limit's, pacing being off), short of
// the seven tenths at which the runtime would start a collection itself.
func trigger(live, goal uint64, percent int) uint64 {
	t := live + live/100*uint64(percent)
	if goal > live {
		t = min(t, live+(goal-live)/5*3)
	}
	return max(t, minHeap)
}

// lead returns the longest of marks with a quarter more, at most limit.
func lead(marks []time.Duration, limit time.Duration) time.Duration {
	var longest time.Duration
	for _, m := range marks {
		longest = max(longest, m)
	}
	return min(longest+longest/4, limit)
}

// readRuntime returns a reader of the runtime's heap metrics.
func readRuntime() func() heap {
	samples := []metrics.Sample{{Name: heapObjects}, {Name: heapLive}, {Name: heapGoal}, {Name: gcCycles}}
	return func() heap {
		metrics.Read(samples)
		return heap{
			objects: samples[0].Value.Uint64(),
			live:    samples[1].Value.Uint64(),
			goal:    samples[2].Value.Uint64(),
			cycles:  samples[3].Value.Uint64(),
		}
	}
}
