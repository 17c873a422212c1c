// Package pressure measures how contended the machine's CPUs are, in two
// figures the kernel keeps:
//
//   - the stall share (CPU): the share of the time some task was ready to
//     run and waited for a CPU (Linux PSI, the "some" line of
//     /proc/pressure/cpu). It predicts the delay of a caller on the same
//     machine in reading its answer, which the service's clock cannot see
//     but the kernel's stall count does;
//   - the busy share (Busy): the share of the machine's CPU time spent
//     running anything but niced processes (/proc/stat). It says when the
//     CPUs are saturated even when the waiting happens where the kernel
//     cannot see it, inside another process's runtime (a Go program whose
//     goroutines queue for its own threads). Niced time counts as idle: a
//     batch job at low priority yields to the service and its callers.
//
// A third figure, UnreadAnswers, is the callers' own backlog: the answers
// they have been sent and not read, which the kernel holds in their
// sockets.
//
// A Monitor reads the first two lazily, at most once an Interval, from whichever
// request asks first; it starts no goroutine and costs nothing while
// nobody asks.
package pressure

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Where Linux exposes the machine's CPU pressure and CPU time.
const (
	DefaultPath     = "/proc/pressure/cpu"
	DefaultStatPath = "/proc/stat"
)

// Config configures a Monitor.
type Config struct {
	// Path is the PSI file read; empty means DefaultPath. A cgroup's
	// cpu.pressure has the same format.
	Path string
	// StatPath is the CPU time file read; empty means DefaultStatPath.
	StatPath string
	// Interval is the least time between two reads; zero means 100ms.
	Interval time.Duration
	// Smoothing is the weight of the newest interval in the moving
	// average CPU returns, in (0, 1]; zero means 0.5 (the last few
	// intervals count, a single burst does not dominate).
	Smoothing float64
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Monitor is the machine's CPU pressure, read lazily. Create it with New;
// its methods are safe for concurrent use.
type Monitor struct {
	path     string
	statPath string
	interval time.Duration
	alpha    float64
	now      func() time.Time

	next    atomic.Int64  // when the next read is due, in Unix nanoseconds
	current atomic.Uint64 // math.Float64bits of the smoothed stall share
	busy    atomic.Uint64 // math.Float64bits of the smoothed busy share
	busyNow atomic.Uint64 // math.Float64bits of the last interval's busy share

	mu        sync.Mutex // one reader at a time
	lastStall time.Duration
	lastRead  time.Time
	known     bool
	lastCPU   cpuTimes
}

// New returns a Monitor for cfg. A file that cannot be read makes its
// figure 0: it is then unknown, and callers fall back to their other
// signals.
func New(cfg Config) *Monitor {
	m := &Monitor{path: cfg.Path, statPath: cfg.StatPath, interval: cfg.Interval, alpha: cfg.Smoothing, now: cfg.Now}
	if m.path == "" {
		m.path = DefaultPath
	}
	if m.statPath == "" {
		m.statPath = DefaultStatPath
	}
	if m.interval <= 0 {
		m.interval = 100 * time.Millisecond
	}
	if m.alpha <= 0 || m.alpha > 1 {
		m.alpha = 0.5
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.lastRead = m.now()
	m.lastStall, m.known = m.read()
	m.lastCPU, _ = m.readStat()
	m.next.Store(m.lastRead.Add(m.interval).UnixNano())
	return m
}

// CPU returns the machine's CPU stall share, between 0 and 1: the moving
// average, over the last intervals, of the share of the time some task
// waited for a CPU. It reads the kernel's counts first if an Interval has
// passed since the last read.
func (m *Monitor) CPU() float64 {
	m.refresh()
	return math.Float64frombits(m.current.Load())
}

// Busy returns the machine's CPU busy share, between 0 and 1: the moving
// average, over the last intervals, of the share of all CPUs' time spent
// running tasks that are not niced. It reads the kernel's counts first if
// an Interval has passed since the last read.
func (m *Monitor) Busy() float64 {
	m.refresh()
	return math.Float64frombits(m.busy.Load())
}

// BusyNow returns the busy share of the last interval alone, not smoothed:
// it tells a sudden saturation an interval or two before Busy does.
func (m *Monitor) BusyNow() float64 {
	m.refresh()
	return math.Float64frombits(m.busyNow.Load())
}

// refresh updates the figures if an Interval has passed, unless another
// goroutine is already at it.
func (m *Monitor) refresh() {
	if m.now().UnixNano() >= m.next.Load() && m.mu.TryLock() {
		m.update()
		m.mu.Unlock()
	}
}

// update reads the stall count and folds the interval since the last read
// into the average. It holds m.mu.
func (m *Monitor) update() {
	now := m.now()
	m.next.Store(now.Add(m.interval).UnixNano())
	elapsed := now.Sub(m.lastRead)
	if elapsed <= 0 {
		return
	}
	// An interval longer than usual (nobody asked for a while) weighs
	// more: the average is of time, not of reads.
	w := 1 - math.Pow(1-m.alpha, float64(elapsed)/float64(m.interval))
	if stall, ok := m.read(); ok {
		if m.known {
			share := min(max(float64(stall-m.lastStall)/float64(elapsed), 0), 1)
			smooth(&m.current, share, w)
		}
		m.lastStall, m.known = stall, true
	}
	if t, ok := m.readStat(); ok {
		if total := t.total - m.lastCPU.total; total > 0 && m.lastCPU.total > 0 {
			share := min(max(float64(t.busy-m.lastCPU.busy)/float64(total), 0), 1)
			m.busyNow.Store(math.Float64bits(share))
			smooth(&m.busy, share, w)
		}
		m.lastCPU = t
	}
	m.lastRead = now
}

// smooth moves the average in v towards x by weight w.
func smooth(v *atomic.Uint64, x, w float64) {
	old := math.Float64frombits(v.Load())
	v.Store(math.Float64bits(old + w*(x-old)))
}

// cpuTimes are the machine's CPU times, in the kernel's ticks: all of
// them, and those spent running tasks that are not niced.
type cpuTimes struct{ total, busy uint64 }

// readStat reads the CPU times of the stat file.
func (m *Monitor) readStat() (cpuTimes, bool) {
	b, err := os.ReadFile(m.statPath)
	if err != nil {
		return cpuTimes{}, false
	}
	return parseStat(b)
}

// parseStat parses the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal guest guest_nice, in ticks. Busy is user,
// system, irq, softirq and steal (time the hypervisor gave to others is
// time this machine could not run); guest time is already in user.
func parseStat(b []byte) (cpuTimes, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("cpu "))
	if !ok {
		return cpuTimes{}, false
	}
	var f [8]uint64
	i := 0
	for field := range bytes.FieldsSeq(rest) {
		if i == len(f) {
			break
		}
		v, err := strconv.ParseUint(string(field), 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		f[i] = v
		i++
	}
	if i < 4 {
		return cpuTimes{}, false
	}
	user, nice, system, idle, iowait, irq, softirq, steal := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
	busy := user + system + irq + softirq + steal
	return cpuTimes{total: busy + nice + idle + iowait, busy: busy}, true
}

// read returns the "some" stall total of the PSI file.
func (m *Monitor) read() (time.Duration, bool) {
	b, err := os.ReadFile(m.path)
	if err != nil {
		return 0, false
	}
	return parseSome(b)
}

// parseSome returns the total= field of the "some" line of a PSI file, as
// a duration (the kernel counts microseconds).
func parseSome(b []byte) (time.Duration, bool) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("some "))
		if !ok {
			continue
		}
		for field := range bytes.FieldsSeq(rest) {
			if v, ok := bytes.CutPrefix(field, []byte("total=")); ok {
				us, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil || us < 0 {
					return 0, false
				}
				return time.Duration(us) * time.Microsecond, true
			}
		}
	}
	return 0, false
}
