package resilience

import (
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// The latency estimate of a host is a DDSketch (DataDog's sketches-go): a
// streaming quantile sketch with a relative-error guarantee and bounded
// memory. Its bins are logarithmic, relativeAccuracy wide, in a dense store
// of at most maxBins that collapses its lowest bins first, so the upper
// quantiles hedging reads keep their accuracy over a span of
// ((1+a)/(1-a))^maxBins, about 14,000 to 1 (70 us to 1 s, or 140 us to 2 s).
// One sketch costs at most about 800 bytes, allocated with a host's first
// answer: the registry's MaxHosts bounds the whole. An HDR histogram with
// one significant digit over the same range needs about 2 KiB, and keeps no
// better accuracy where it matters.
//
// Recent answers count more: the sweeper multiplies every count by decay at
// each sweep (once a second by default, a half-life of about 3 s), so a host
// that slows down is seen slow within seconds.
const (
	relativeAccuracy = 0.05
	maxBins          = 96
	decay            = 0.8
	// minSamples is the weight of answers below which the estimate is not
	// trusted: a host needs a few answers a second to be hedged.
	minSamples = 20
	// refresh is how many answers pass between two computations of the
	// cached quantiles.
	refresh = 16
)

// logMapping is shared by every sketch: it is immutable.
var logMapping = func() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(relativeAccuracy)
	if err != nil {
		panic(err) // a constant accuracy in (0, 1) cannot fail
	}
	return m
}()

// latency is one host's latency estimate; the zero value is empty. It is
// guarded by the registry's lock.
type latency struct {
	sketch   *ddsketch.DDSketch // nil until the first answer
	pending  int                // answers since p50 and p95 were computed
	p50, p95 time.Duration
	known    bool
}

// add records one answer that took d.
func (l *latency) add(d time.Duration) {
	if l.sketch == nil {
		l.sketch = ddsketch.NewDDSketch(logMapping, store.NewCollapsingLowestDenseStore(maxBins), store.NewCollapsingLowestDenseStore(1))
	}
	_ = l.sketch.Add(d.Seconds()) // only fails for values beyond 1e300 or so
	l.pending++
	if !l.known || l.pending >= refresh {
		l.compute()
	}
}

// decay ages the estimate by one sweep.
func (l *latency) decay() {
	if l.sketch == nil {
		return
	}
	_ = l.sketch.Reweight(decay) // only fails for a factor <= 0
	l.compute()
}

// compute refreshes the cached quantiles.
func (l *latency) compute() {
	l.pending = 0
	l.known = l.sketch.GetCount() >= minSamples
	if !l.known {
		return
	}
	qs, err := l.sketch.GetValuesAtQuantiles([]float64{0.5, 0.95})
	if err != nil {
		l.known = false
		return
	}
	l.p50 = time.Duration(qs[0] * float64(time.Second))
	l.p95 = time.Duration(qs[1] * float64(time.Second))
}

// estimate returns the cached median and 95th percentile, and whether they
// rest on enough answers.
func (l *latency) estimate() (p50, p95 time.Duration, ok bool) {
	return l.p50, l.p95, l.known
}
