package pressure

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// files are a PSI file and a stat file the test writes.
type files struct {
	t                *testing.T
	psi, stat        string
	stallUs          int64
	busyTicks, ticks uint64
}

func newFiles(t *testing.T) *files {
	dir := t.TempDir()
	f := &files{t: t, psi: filepath.Join(dir, "cpu"), stat: filepath.Join(dir, "stat")}
	f.write()
	return f
}

// add records stall microseconds of stall, busy ticks of busy and idle
// ticks of idle.
func (f *files) add(stall time.Duration, busy, idle uint64) {
	f.stallUs += stall.Microseconds()
	f.busyTicks += busy
	f.ticks += busy + idle
	f.write()
}

func (f *files) write() {
	psi := fmt.Sprintf("some avg10=1.00 avg60=2.00 avg300=3.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", f.stallUs)
	// user nice system idle iowait irq softirq steal guest guest_nice:
	// the busy ticks split between user and system, and 7 niced ticks
	// that count as idle.
	idle := f.ticks - f.busyTicks
	stat := fmt.Sprintf("cpu  %d 7 %d %d 0 0 0 0 0 0\ncpu0 1 2 3 4\n", f.busyTicks/2, f.busyTicks-f.busyTicks/2, idle)
	if os.WriteFile(f.psi, []byte(psi), 0o644) != nil || os.WriteFile(f.stat, []byte(stat), 0o644) != nil {
		f.t.Fatal("cannot write the fake files")
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestMonitor(t *testing.T) {
	f := newFiles(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := New(Config{Path: f.psi, StatPath: f.stat, Interval: 100 * time.Millisecond, Smoothing: 1, Now: clock.now})
	if m.CPU() != 0 || m.Busy() != 0 {
		t.Fatalf("at the start: CPU %g, busy %g; want 0, 0", m.CPU(), m.Busy())
	}
	// 40ms of stall in a 100ms interval, 30 busy ticks of 100 (the
	// niced ones, which do not change, would count as idle).
	f.add(40*time.Millisecond, 30, 70)
	clock.t = clock.t.Add(50 * time.Millisecond)
	if m.CPU() != 0 {
		t.Fatalf("read again within the interval: CPU %g; want 0 still", m.CPU())
	}
	clock.t = clock.t.Add(50 * time.Millisecond)
	if got := m.CPU(); got < 0.399 || got > 0.401 {
		t.Errorf("CPU %g; want 0.4", got)
	}
	if got := m.Busy(); got < 0.299 || got > 0.301 {
		t.Errorf("Busy %g; want 0.3", got)
	}
}

func TestSmoothing(t *testing.T) {
	f := newFiles(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := New(Config{Path: f.psi, StatPath: f.stat, Interval: 100 * time.Millisecond, Smoothing: 0.5, Now: clock.now})
	f.add(100*time.Millisecond, 93, 0) // a saturated interval
	clock.t = clock.t.Add(100 * time.Millisecond)
	if got := m.CPU(); got < 0.499 || got > 0.501 {
		t.Errorf("after one saturated interval: CPU %g; want 0.5, half way", got)
	}
	if busy, now := m.Busy(), m.BusyNow(); busy < 0.499 || busy > 0.501 || now != 1 {
		t.Errorf("after one saturated interval: Busy %g, BusyNow %g; want 0.5 (half way) and 1 (that interval alone)", busy, now)
	}
	// Two intervals of nothing, read as one: they weigh as two.
	clock.t = clock.t.Add(200 * time.Millisecond)
	if got := m.CPU(); got < 0.124 || got > 0.126 {
		t.Errorf("after two quiet intervals: CPU %g; want 0.125", got)
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := New(Config{Path: filepath.Join(dir, "none"), StatPath: filepath.Join(dir, "none"), Now: clock.now})
	clock.t = clock.t.Add(time.Second)
	if m.CPU() != 0 || m.Busy() != 0 {
		t.Errorf("no files: CPU %g, busy %g; want 0, 0", m.CPU(), m.Busy())
	}
}

func TestParse(t *testing.T) {
	if d, ok := parseSome([]byte("some avg10=0.04 avg60=1.16 avg300=0.54 total=2221907\nfull total=0\n")); !ok || d != 2221907*time.Microsecond {
		t.Errorf("parseSome = %v, %v", d, ok)
	}
	for _, bad := range []string{"", "full total=5\n", "some total=x\n", "some total=-1\n"} {
		if _, ok := parseSome([]byte(bad)); ok {
			t.Errorf("parseSome(%q) ok", bad)
		}
	}
	if c, ok := parseStat([]byte("cpu  10 5 20 100 3 1 2 4 0 0\n")); !ok || c.busy != 37 || c.total != 145 {
		t.Errorf("parseStat = %+v, %v; want busy 37 of 145", c, ok)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4\n", "cpu  1 2\n", "cpu  a b c d\n"} {
		if _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) ok", bad)
		}
	}
}

// TestThisMachine reads the real files where the kernel has them.
func TestThisMachine(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skip("no PSI on this kernel")
	}
	m := New(Config{})
	m.mu.Lock()
	known := m.known
	m.mu.Unlock()
	if !known {
		t.Fatal("PSI file present but not read")
	}
	if c, b := m.CPU(), m.Busy(); c < 0 || c > 1 || b < 0 || b > 1 {
		t.Errorf("CPU %g, Busy %g; want both in [0, 1]", c, b)
	}
}
