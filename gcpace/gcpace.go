// Package gcpace starts the process's garbage collections itself, by the
// rule the runtime would follow (collect once the heap has grown by Percent
// over what the last collection left live), so that it can announce each
// one just before it starts, and say when its mark has ended.
//
// A collection on a machine whose CPUs are shared with other busy processes
// stalls the process now and then: all of its threads must meet at a safe
// point, and goroutines that allocate during the mark are made to help it.
// In the hostile soak, answers whose flush timer fell in a mark phase came
// out 2-10 ms past the 500 ms budget, 1-5 in 90,000, clustered at each
// collection. Told, the handler writes its answers Lead earlier than
// planned from the announcement until the mark ends: those due while the
// collection is expected to run at once, before it starts, and any due
// while it runs longer by a timer early enough to be in time; the answers
// planned later are not touched.
//
// Go's runtime has no hook at the start of a collection (runtime/metrics and
// finalizers only show one that has ended), hence this package: it turns
// the runtime's own pacing off (debug.SetGCPercent(-1)), reads the heap
// every Poll, and when the heap reaches its trigger announces a collection
// and has the runtime start it (see collector). A memory limit
// (debug.SetMemoryLimit) still applies, and the trigger stays short of
// where the runtime would start a collection for it, so that the runtime
// only collects unannounced when this package is starved of CPU.
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
	gcPausesSTW = "/sched/pauses/total/gc:seconds"     // a histogram of the collections' stop-the-world pauses
)

// minHeap is the smallest trigger, as the runtime's own (4 MiB at GOGC=100).
const minHeap = 4 << 20

// leadHistory is how many collections Lead looks back over.
const leadHistory = 8

// minLead is the least Lead: a timer is late by about a millisecond on an
// idle machine.
const minLead = 5 * time.Millisecond

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

// collection is one garbage collection: announced is closed just before it
// starts, ended once its mark is over.
type collection struct {
	announced, ended chan struct{}
}

func newCollection() *collection {
	return &collection{announced: make(chan struct{}), ended: make(chan struct{})}
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
	cfg     Config
	current atomic.Pointer[collection] // under way, or the next one
	lead    atomic.Int64               // nanoseconds

	// Stats counts the collections.
	Stats Stats

	// The runtime, or fakes in tests.
	read    func() heap
	collect func(heap) (lag time.Duration)
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
	read := readRuntime()
	p := newPacer(cfg, read, collector(read, gcPauses(), cfg.Percent), ticker.C, time.Now)
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
// collect (which returns how late a timer fired at most during the mark),
// polls at each tick and tells time with now; run starts it.
func newPacer(cfg Config, read func() heap, collect func(heap) time.Duration, tick <-chan time.Time, now func() time.Time) *Pacer {
	p := &Pacer{cfg: cfg, read: read, collect: collect, tick: tick, now: now,
		stop: make(chan struct{}), done: make(chan struct{})}
	p.current.Store(newCollection())
	p.lead.Store(int64(cfg.MaxLead)) // until a collection has been measured
	return p
}

// Next returns the channels of the collection under way, or of the next
// one: announced is closed just before it starts, ended once its mark is
// over. After ended closes, Next returns the next collection's.
func (p *Pacer) Next() (announced, ended <-chan struct{}) {
	c := p.current.Load()
	return c.announced, c.ended
}

// Lead returns how much earlier than planned an answer is best written
// while a collection runs, from its announcement until its mark has ended.
// It is the longest of the last eight collections from announcement to the
// end of marking, with a quarter more, so that the answers due while the
// next one is expected to run are written before it starts; or, if that is
// more, twice the longest a timer fired late during their marks, so that
// the answers due while a mark runs longer than expected are in time. It
// is at least 5ms, at most MaxLead (which it is until the first
// collection).
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
	var marks [leadHistory]mark
	var n int
	var rest time.Time // no collection before it: never more than half the time collecting
	for p.wait() {
		h := p.read()
		if h.objects < trigger(h.live, h.goal, p.cfg.Percent) || p.now().Before(rest) {
			continue
		}
		start := p.now()
		close(p.current.Load().announced)
		// One poll for the answers woken by the announcement to be
		// written before the collection starts.
		if !p.wait() {
			p.end()
			return
		}
		lag := p.collect(h)
		end := p.now()
		p.end()
		p.Stats.Collections.Add(1)
		marks[n%leadHistory] = mark{took: end.Sub(start), lag: lag}
		n++
		p.lead.Store(int64(lead(marks[:min(n, leadHistory)], p.cfg.MaxLead)))
		rest = end.Add(end.Sub(start))
	}
}

// end ends the collection under way: it puts the next one in its place,
// then closes its ended channel, so that a goroutine woken by it finds the
// next one's channels.
func (p *Pacer) end() {
	close(p.current.Swap(newCollection()).ended)
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

// armWait bounds how long a collector leaves the runtime armed: it starts
// the collection at its next allocation of a span, which a busy process
// makes within microseconds, unless its goroutines are kept from running
// (with 1 ms, the soak fell back to runtime.GC about once a minute).
const armWait = 10 * time.Millisecond

// collector returns the function that starts a collection, the heap being
// h, and returns once its mark has ended, with the longest a timer of its
// own fired late during the mark. It sets GOGC to what brings the
// runtime's goal, and so its trigger, under the heap's size, so that the
// runtime starts the collection at its next allocation; as soon as the
// collection's first stop-the-world pause is over (counted by pauses) it
// sets GOGC to percent, so that the runtime paces the mark as it would
// have paced its own; once the mark has ended (read's cycle count moves) it
// turns collection off again. The sweep is left to the runtime, spread over
// the allocations that follow and its idle time.
//
// Two other ways were measured on the shared bench. runtime.GC sweeps the
// whole heap on the calling goroutine before it returns: 100-140 ms of one
// CPU for the soak's 800 MB heap, and past the capacity of
// classic-distinct (3,000 req/s on 2 shared cores) the CPU shedder refused
// 439-558 requests and 12-27 answers were late in 2 runs of 3, where there
// had been none. Turning collection off as soon as the mark began (which
// waits for the mark and moves its goal to the memory limit's, so that
// hardly any goroutine is made to help) let a mark at that rate run
// 150 ms, past the lead, and 14-30 answers were late in 2 runs of 3.
// runtime.GC is still the fallback when the runtime, armed, started
// nothing (a process that hardly allocates, whose sweep costs little).
func collector(read func() heap, pauses func() uint64, percent int) func(heap) time.Duration {
	return func(h heap) (lag time.Duration) {
		before := pauses()
		debug.SetGCPercent(armPercent(h.objects, h.live))
		started := time.Now()
		for pauses() == before && time.Since(started) < armWait {
			runtime.Gosched()
		}
		debug.SetGCPercent(percent)
		for read().cycles == h.cycles && time.Since(started) < maxMark {
			asleep := time.Now()
			time.Sleep(markPoll)
			lag = max(lag, time.Since(asleep)-markPoll)
		}
		debug.SetGCPercent(-1) // waits for a mark still under way
		if read().cycles == h.cycles {
			runtime.GC()
		}
		return lag
	}
}

// markPoll is how often a collector looks whether the mark has ended, and
// so how often it measures how late its timer fires.
const markPoll = time.Millisecond

// maxMark bounds how long a collector waits for a mark to end with the
// runtime pacing it; turning collection off then waits for the rest.
const maxMark = time.Second

// armPercent returns the GOGC that puts the runtime's goal, and so its
// trigger, under a heap of objects bytes, live of them left live by the
// last collection: the goal is the larger of live plus GOGC percent of it
// and GOGC percent of 4 MiB. The runtime then starts a collection at its
// next allocation of a span, whatever trigger it would have computed.
func armPercent(objects, live uint64) int {
	if objects <= live {
		return 0
	}
	p := min(float64(objects-live)/float64(max(live, 1)), float64(objects)/minHeap) * 100
	return int(p * 0.9)
}

// trigger returns the heap size at which to collect: four fifths of the
// way from the heap live after the last collection to percent over it, and
// no further than 11/16 of the way to the runtime's goal (the memory
// limit's, pacing being off), short of the 45/64 at which the runtime would
// start a collection itself. The mark is paced to end at percent over live
// (see collector): the last fifth is its runway, room for what the process
// allocates while it runs, as the runtime's own trigger (between 0.7 and
// 0.95 of the way) leaves. Without it the heap is at the goal as the mark
// begins, and the runtime makes every goroutine that allocates help the
// mark as much as it can: past the capacity of classic-distinct, a mark
// then delayed timers by up to 44 ms.
func trigger(live, goal uint64, percent int) uint64 {
	t := live + live/100*uint64(percent)/5*4
	if goal > live {
		t = min(t, live+(goal-live)/16*11)
	}
	return max(t, minHeap)
}

// mark is what a collection measured: how long it took from its
// announcement to the end of its mark, and how late a timer fired at most
// during the mark.
type mark struct {
	took, lag time.Duration
}

// lead returns the longest a collection of marks took with a quarter more,
// or twice the longest lag if that is more, at least minLead, at most
// limit.
func lead(marks []mark, limit time.Duration) time.Duration {
	var took, lag time.Duration
	for _, m := range marks {
		took, lag = max(took, m.took), max(lag, m.lag)
	}
	return min(max(took+took/4, 2*lag, minLead), limit)
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

// gcPauses returns a counter of the stop-the-world pauses of collections:
// the first of a collection's two ends as its mark begins.
func gcPauses() func() uint64 {
	samples := []metrics.Sample{{Name: gcPausesSTW}}
	return func() uint64 {
		metrics.Read(samples)
		var n uint64
		for _, c := range samples[0].Value.Float64Histogram().Counts {
			n += c
		}
		return n
	}
}
