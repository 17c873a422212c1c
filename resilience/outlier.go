// outlier.go is outlier detection: it tracks the health of upstream hosts
// passively, from the fetches the service makes anyway: every success is a
// beat, and a host that keeps failing is ejected, answered at once without
// being asked, for a time that doubles with each ejection, then probed with
// one trial request per interval until one succeeds. It also keeps each
// host's latency estimate, which hedging reads.
//
// A host is a (scheme, host, port) triple, the prefix of a canonical URL (see
// Key). The Detector holds at most MaxHosts of them, least recently used
// first out, so that callers naming a million hosts cannot grow it, and one
// sweeper goroutine with one ticker serves them all: no goroutine or timer
// per host. Every decision that depends on time is taken when it is asked
// for (Admit reads the clock); the sweeper only ages the counts.
//
// The state machine of a host (see State):
//
//	healthy --Failures in a row, none ok for Quiet; or FailureRate of MinRequests in Window--> ejected
//	ejected --its ejection time passes-------------------------------------------------------> half-open
//	half-open --Admit lets one trial through per ProbeInterval; a failed trial changes nothing
//	ejected, half-open --any success (a trial, or a fetch started before the ejection)--> healthy
//
// The ejection time is BaseEjection x 2^(n-1), n counting the ejections of the
// host, at most MaxEjection; n falls by one for every Window the host stays
// healthy. Like Envoy's max_ejection_percent, an ejection that would leave
// more than MaxEjectedPercent of the tracked hosts ejected is skipped, so
// that a fault of our own (the network, the resolver, an overloaded process:
// every host seems to time out) cannot eject every upstream at once. One host
// may always be ejected, and the bound applies only from capMinHosts tracked
// hosts on: among three hosts, two down is a share that says little (Envoy's
// failure_percentage_minimum_hosts is 5 for the same reason). Envoy's panic
// threshold, which ignores health when too few hosts are healthy, is the same
// guard seen from the other side: with at most half the hosts ejected, at
// least half are healthy, so it is not kept apart.
//
// Why this is written here rather than taken from gobreaker or failsafe-go:
// both are one breaker per protected call, each with its own lock, counts and
// fixed open timeout. What is needed here is one bounded registry of
// thousands of short-lived hosts with a single sweeper, a cap on the share of
// hosts ejected (a decision across hosts no per-breaker library makes), an
// ejection time that doubles per ejection and decays, trials sent in the
// background rather than by a caller who would wait for them, and a clock the
// tests can drive (gobreaker reads time.Now itself).

package resilience

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// OutlierConfig configures a Detector. The zero OutlierConfig is usable.
type OutlierConfig struct {
	// Failures is how many failures in a row eject a host; zero means 5,
	// negative never ejects on a run of failures.
	Failures int
	// Quiet is how long a host must also have gone without a success for a
	// run of failures to eject it; zero means 200ms. Under heavy traffic a
	// host that fails one time in five shows five failures in a row every
	// few thousand fetches, between successes a millisecond apart; a host
	// that is down has no success at all.
	Quiet time.Duration
	// FailureRate is the share of failures over Window that ejects a host with
	// at least MinRequests results in it; zero means 0.85 (Envoy's
	// failure_percentage_threshold), negative never ejects on the rate.
	FailureRate float64
	// MinRequests is the volume of results in Window below which the rate is
	// not judged; zero means 50.
	MinRequests int
	// Window is the span the failure rate is measured over, and how long a
	// host must stay healthy for its ejection count to fall by one; zero
	// means 10s.
	Window time.Duration
	// BaseEjection is the first ejection time of a host; zero means 1s.
	BaseEjection time.Duration
	// MaxEjection caps the ejection time; zero means 30s.
	MaxEjection time.Duration
	// ProbeInterval is how often a half-open host gets a trial; zero means 1s.
	ProbeInterval time.Duration
	// MaxEjectedPercent bounds the share of tracked hosts ejected at once,
	// once at least 10 are tracked; zero means 50, 100 or more means no
	// bound. One host may always be ejected.
	MaxEjectedPercent int
	// MaxHosts bounds the hosts tracked; zero means 10,000. The least
	// recently used host is forgotten first.
	MaxHosts int
	// SweepInterval is the period of the sweeper; zero means 1s.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
}

// OutlierStats are the Detector's counters since it was created.
type OutlierStats struct {
	Ejections atomic.Uint64 // hosts ejected
	Skipped   atomic.Uint64 // ejections skipped because MaxEjectedPercent were ejected already
	Restored  atomic.Uint64 // ejected hosts back to healthy after a success
	Probes    atomic.Uint64 // trial requests let through to half-open hosts
	Rejected  atomic.Uint64 // fetches answered without asking an ejected host
	Forgotten atomic.Uint64 // hosts dropped to stay within MaxHosts
}

// Detector tracks the health of upstream hosts. It is safe for concurrent
// use. Create it with NewDetector; Start runs its sweeper and Stop ends it.
type Detector struct {
	cfg OutlierConfig
	now func() time.Time

	done     chan struct{} // closed by Stop; set by Start
	stopOnce sync.Once
	swept    sync.WaitGroup // the sweeper

	mu      sync.Mutex
	hosts   *simplelru.LRU[string, *host] // guarded by mu
	ejected int                           // guarded by mu: hosts in Ejected or HalfOpen
	rotated time.Time                     // guarded by mu: when the windows last moved on

	// Stats counts what the Detector did; read it, never write it.
	Stats OutlierStats
}

// host is one upstream host's record.
type host struct {
	ejected   bool
	failures  int       // in a row, while healthy
	lastOK    time.Time // the last beat
	ok, bad   [2]uint32 // results in the current and the previous half-window
	ejections int       // the exponent of the next ejection time, decaying
	until     time.Time // end of the ejection time
	nextTrial time.Time // when the next trial may go
	calmSince time.Time // healthy and not ejected since
	lat       latency
}

// New returns a Detector for cfg.
func NewDetector(cfg OutlierConfig) *Detector {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.Failures == 0 {
		cfg.Failures = 5
	}
	def(&cfg.Quiet, 200*time.Millisecond)
	if cfg.FailureRate == 0 {
		cfg.FailureRate = 0.85
	}
	if cfg.MinRequests <= 0 {
		cfg.MinRequests = 50
	}
	def(&cfg.Window, 10*time.Second)
	def(&cfg.BaseEjection, time.Second)
	def(&cfg.MaxEjection, 30*time.Second)
	def(&cfg.ProbeInterval, time.Second)
	def(&cfg.SweepInterval, time.Second)
	if cfg.MaxEjectedPercent <= 0 {
		cfg.MaxEjectedPercent = 50
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Detector{cfg: cfg, now: cfg.Now}
	r.hosts, _ = simplelru.NewLRU[string, *host](cfg.MaxHosts, r.evicted) // only fails on a size <= 0
	r.rotated = r.now()
	return r
}

// capMinHosts is how many hosts must be tracked for MaxEjectedPercent to apply.
const capMinHosts = 10

// evicted is called, under mu, for a host dropped to stay within MaxHosts.
func (r *Detector) evicted(_ string, h *host) {
	if h.ejected {
		r.ejected--
	}
	r.Stats.Forgotten.Add(1)
}

// Admit says whether a fetch from key may go: Allow for a host that is
// healthy or unknown, Reject for an ejected one, and Trial for the first
// fetch of a half-open host in each ProbeInterval.
func (r *Detector) Admit(key string) Verdict {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.hosts.Get(key)
	if !ok || !h.ejected {
		return Allow
	}
	if now.Before(h.until) || now.Before(h.nextTrial) {
		r.Stats.Rejected.Add(1)
		return Reject
	}
	h.nextTrial = now.Add(r.cfg.ProbeInterval)
	r.Stats.Probes.Add(1)
	return Trial
}

// Success records a beat of key: a fetch that the host answered (with
// numbers, or with an answer that is the URL's fault rather than the
// host's). took, when positive, is how long the answer took, for the latency
// estimate. An ejected host is healthy again.
func (r *Detector) Success(key string, took time.Duration) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.get(key, now)
	h.ok[0]++
	h.lastOK = now
	h.failures = 0
	if took > 0 {
		h.lat.add(took)
	}
	if h.ejected {
		h.ejected = false
		h.calmSince = now
		h.ok, h.bad = [2]uint32{1, 0}, [2]uint32{}
		r.ejected--
		r.Stats.Restored.Add(1)
	}
}

// Failure records a failure of key that says the host is unwell (see
// fetcher.HostFault), and ejects the host if it has failed enough.
func (r *Detector) Failure(key string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.get(key, now)
	h.bad[0]++
	if h.ejected {
		return // a trial failed, or a fetch started before the ejection: no change
	}
	h.failures++
	if !r.failing(h, now) {
		return
	}
	if n := r.hosts.Len(); r.ejected > 0 && n >= capMinHosts && (r.ejected+1)*100 > r.cfg.MaxEjectedPercent*n {
		r.Stats.Skipped.Add(1)
		return
	}
	h.ejections++
	d := r.cfg.BaseEjection
	for i := 1; i < h.ejections && d < r.cfg.MaxEjection; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxEjection)
	h.ejected = true
	h.until = now.Add(d)
	h.nextTrial = h.until
	h.failures = 0
	h.ok, h.bad = [2]uint32{}, [2]uint32{}
	r.ejected++
	r.Stats.Ejections.Add(1)
}

// failing says whether healthy host h has failed enough to be ejected.
func (r *Detector) failing(h *host, now time.Time) bool {
	if r.cfg.Failures > 0 && h.failures >= r.cfg.Failures && now.Sub(h.lastOK) >= r.cfg.Quiet {
		return true
	}
	ok, bad := h.ok[0]+h.ok[1], h.bad[0]+h.bad[1]
	return r.cfg.FailureRate > 0 && int(ok+bad) >= r.cfg.MinRequests &&
		float64(bad) >= r.cfg.FailureRate*float64(ok+bad)
}

// get returns the record of key, creating it. Only results create records:
// Admit of an unknown host allocates nothing.
func (r *Detector) get(key string, now time.Time) *host {
	if h, ok := r.hosts.Get(key); ok {
		return h
	}
	h := &host{calmSince: now}
	// A clone: key is usually a prefix of a URL that the record must not pin.
	r.hosts.Add(strings.Clone(key), h)
	return h
}

// State returns the state of key; an unknown host is healthy.
func (r *Detector) State(key string) State {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.hosts.Peek(key)
	if !ok {
		return Healthy
	}
	return h.state(now)
}

func (h *host) state(now time.Time) State {
	switch {
	case !h.ejected:
		return Healthy
	case now.Before(h.until):
		return Ejected
	}
	return HalfOpen
}

// Latency returns the latency estimate of key: the median and the 95th
// percentile of its recent answers. ok is false while there are too few of
// them to tell (see latency).
func (r *Detector) Latency(key string) (p50, p95 time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, found := r.hosts.Peek(key)
	if !found {
		return 0, 0, false
	}
	return h.lat.estimate()
}

// Hosts counts the tracked hosts by state, indexed by State.
func (r *Detector) Hosts() [len(stateNames)]int {
	now := r.now()
	var n [len(stateNames)]int
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hosts.Values() {
		n[h.state(now)]++
	}
	return n
}

// Len returns how many hosts are tracked.
func (r *Detector) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hosts.Len()
}
