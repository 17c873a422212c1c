package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTrigger(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name             string
		live, goal, want uint64
		percent          int
	}{
		{"four fifths of percent over live", 100 * mib, math.MaxUint64, 420 * mib, 400},
		{"zero percent", 100 * mib, math.MaxUint64, 100 * mib, 0},
		{"short of a memory limit's goal", 100 * mib, 500 * mib, 100*mib + 400*mib/16*11, 400},
		{"goal under live", 100 * mib, 90 * mib, 420 * mib, 400},
		{"never under 4 MiB", 1 * mib, math.MaxUint64, 4 * mib, 100},
	} {
		if got := trigger(c.live, c.goal, c.percent); got != c.want {
			t.Errorf("%s: trigger(%d, %d, %d) = %d MiB; want %d MiB", c.name, c.live, c.goal, c.percent, got/mib, c.want/mib)
		}
	}
}

func TestLead(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name  string
		marks []mark
		want  time.Duration
	}{
		{"none", nil, minLead},
		{"short", []mark{{took: 2 * ms, lag: ms}}, minLead},
		{"took with a quarter", []mark{{took: 40 * ms, lag: 10 * ms}}, 50 * ms},
		{"twice the lag", []mark{{took: 40 * ms, lag: 30 * ms}}, 60 * ms},
		{"the longest of each", []mark{{took: 8 * ms, lag: 20 * ms}, {took: 40 * ms}, {took: 20 * ms, lag: 4 * ms}}, 50 * ms},
		{"at most the limit", []mark{{took: 400 * ms}}, 100 * ms},
	} {
		if got := lead(c.marks, 100*ms); got != c.want {
			t.Errorf("%s: lead(%v) = %v; want %v", c.name, c.marks, got, c.want)
		}
	}
}

// fakeRuntime is a heap, a collector and a clock the test moves by hand.
// Its collections report lag as how late a timer fired during the mark.
// Each poll reads the heap from reads, so the test says what every poll
// sees, and a send on tick returns only once the Pacer has finished with
// what came before it. The test moves the clock only while the Pacer waits
// for a tick or a read, so the channels order every access to it.
type fakeRuntime struct {
	at         time.Time
	reads      chan heap
	collecting chan struct{} // receives when a collection starts
	finish     chan struct{} // a collection ends when it receives
	lag        time.Duration
}

func (f *fakeRuntime) read() heap { return <-f.reads }

func (f *fakeRuntime) now() time.Time { return f.at }

func (f *fakeRuntime) collect(heap) time.Duration {
	f.collecting <- struct{}{}
	<-f.finish
	return f.lag
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestAnnouncesBeforeCollecting drives a Pacer over a fake runtime, one poll
// at a time.
func TestAnnouncesBeforeCollecting(t *testing.T) {
	const mib = 1 << 20
	ms := time.Millisecond
	f := &fakeRuntime{
		at:         time.Unix(1000, 0),
		reads:      make(chan heap),
		collecting: make(chan struct{}),
		finish:     make(chan struct{}),
	}
	ticks := make(chan time.Time)
	p := newPacer(withDefaults(Config{Percent: 100}), f.read, f.collect, ticks, f.now)
	go p.run()
	defer p.Stop()
	tick := func() { ticks <- time.Time{} }
	under := heap{objects: 15 * mib, live: 10 * mib, goal: math.MaxUint64}
	over := heap{objects: 20 * mib, live: 10 * mib, goal: math.MaxUint64}

	firstAnnounced, firstEnded := p.Next()
	tick()
	f.reads <- under
	tick()
	if closed(firstAnnounced) || p.Stats.Collections.Load() != 0 {
		t.Fatal("announced under the trigger")
	}
	if got := p.Lead(); got != 100*ms {
		t.Errorf("Lead() = %v before any collection; want MaxLead, 100ms", got)
	}
	f.reads <- over
	tick() // taken by the wait between the announcement and the collection
	if !closed(firstAnnounced) {
		t.Fatal("the trigger reached and nothing announced")
	}
	if a, e := p.Next(); a != firstAnnounced || e != firstEnded {
		t.Fatal("Next during a collection does not return its channels")
	}
	<-f.collecting
	if closed(firstEnded) {
		t.Fatal("ended before the mark")
	}

	// The mark ends 40ms after the announcement; a timer fired 30ms late in
	// it: the next collections' lead is 60ms, and none starts sooner after
	// this one ends than it took.
	f.at = f.at.Add(40 * ms)
	f.lag = 30 * ms
	f.finish <- struct{}{}
	tick()
	if !closed(firstEnded) {
		t.Fatal("the mark over, and ended not closed")
	}
	if got := p.Lead(); got != 60*ms {
		t.Errorf("Lead() = %v after a timer 30ms late; want 60ms", got)
	}
	if n := p.Stats.Collections.Load(); n != 1 {
		t.Errorf("Stats.Collections = %d; want 1", n)
	}
	second, secondEnded := p.Next()
	if closed(second) || closed(secondEnded) {
		t.Fatal("Next after a collection returns closed channels")
	}
	f.at = f.at.Add(10 * ms)
	f.reads <- over // over the trigger, within the rest
	tick()
	if closed(second) {
		t.Fatal("announced again within the rest after a collection")
	}
	f.at = f.at.Add(50 * ms)
	f.reads <- over
	tick()
	if !closed(second) {
		t.Fatal("not announced after the rest")
	}

	<-f.collecting
	f.at = f.at.Add(80 * ms) // took 80ms, with no lag: lead 100ms
	f.lag = 0
	f.finish <- struct{}{}
	tick()
	if n := p.Stats.Collections.Load(); n != 2 {
		t.Errorf("Stats.Collections = %d; want 2", n)
	}
	if got := p.Lead(); got != 100*ms {
		t.Errorf("Lead() = %v after a collection of 80ms; want 100ms", got)
	}
	f.reads <- under // the poll the last tick began
}

// TestStopEndsAnnounced: stopped between an announcement and its
// collection, a Pacer ends the collection it announced.
func TestStopEndsAnnounced(t *testing.T) {
	f := &fakeRuntime{reads: make(chan heap)}
	ticks := make(chan time.Time)
	p := newPacer(withDefaults(Config{Percent: 100}), f.read, f.collect, ticks, f.now)
	go p.run()
	announced, ended := p.Next()
	ticks <- time.Time{}
	f.reads <- heap{objects: 20 << 20, live: 10 << 20, goal: math.MaxUint64}
	<-announced
	p.Stop()
	if !closed(ended) {
		t.Error("stopped with a collection announced and not ended")
	}
}

func TestArmPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		objects, live uint64
		want          int
	}{
		{500 * mib, 100 * mib, 360}, // 400 % over live, less a tenth
		{100 * mib, 100 * mib, 0},   // not grown
		{4 * mib, 1 * mib, 90},      // the runtime's 4 MiB minimum rules
		{5 * mib, 0, 112},           // nothing live: the minimum alone
	} {
		got := armPercent(c.objects, c.live)
		if got != c.want {
			t.Errorf("armPercent(%d MiB, %d MiB) = %d; want %d", c.objects/mib, c.live/mib, got, c.want)
		}
		// The runtime triggers under its goal.
		goal := max(float64(c.live)*(1+float64(got)/100), float64(got)/100*minHeap)
		if c.objects > c.live && goal >= float64(c.objects) {
			t.Errorf("armPercent(%d MiB, %d MiB) = %d leaves the runtime's trigger over the heap", c.objects/mib, c.live/mib, got)
		}
	}
}

// gcPercent reads the runtime's GOGC setting without changing it.
func gcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestStartCollects: over the real runtime, a Pacer collects as the heap
// grows, announcing each collection, and gives pacing back when stopped.
func TestStartCollects(t *testing.T) {
	old := debug.SetGCPercent(150)
	defer debug.SetGCPercent(old)

	p := Start(Config{Percent: 10, Poll: time.Millisecond})
	first, _ := p.Next()
	if got := gcPercent(); got != -1 {
		t.Errorf("GOGC while pacing = %d; want -1 (off)", got)
	}
	var sink []byte
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats.Collections.Load() < 2 && time.Now().Before(deadline) {
		for range 64 {
			sink = make([]byte, 64<<10)
		}
		runtime.Gosched() // let the Pacer poll on a busy machine
	}
	_ = sink
	p.Stop()
	if n := p.Stats.Collections.Load(); n < 2 {
		t.Fatalf("%d collections in 10s of allocating; want at least 2", n)
	}
	if !closed(first) {
		t.Error("collections ran, and the first Next was not closed")
	}
	if got := gcPercent(); got != 150 {
		t.Errorf("GOGC after Stop = %d; want 150, as before Start", got)
	}
}

func TestGCPauses(t *testing.T) {
	pauses := gcPauses()
	before := pauses()
	runtime.GC()
	if after := pauses(); after < before+2 {
		t.Errorf("%d pauses counted over a collection; want its 2", after-before)
	}
}

// BenchmarkRead is what one poll costs.
func BenchmarkRead(b *testing.B) {
	read := readRuntime()
	for b.Loop() {
		read()
	}
}
