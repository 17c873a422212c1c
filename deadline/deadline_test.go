package deadline

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the
// calibration's drain among them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMarginFor(t *testing.T) {
	m := Margin{Base: 2 * time.Millisecond, PerNumber: 40}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 2 * time.Millisecond},
		{1, 2*time.Millisecond + 40},
		{1000, 2*time.Millisecond + 40*time.Microsecond},
		{1_000_000, 42 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := m.For(tt.n); got != tt.want {
			t.Errorf("For(%d) = %v; want %v", tt.n, got, tt.want)
		}
	}
	for n := 1; n < 1<<24; n *= 4 {
		if m.For(n) <= m.For(n/4) {
			t.Errorf("For(%d) = %v does not grow over For(%d) = %v", n, m.For(n), n/4, m.For(n/4))
		}
	}
}

func TestFlushAt(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const budget = 100 * time.Millisecond
	deadline := start.Add(budget)
	m := Margin{Base: 2 * time.Millisecond, PerNumber: 1000}
	half := func() float64 { return 0.5 }
	tests := []struct {
		name string
		cfg  Config
		n    int
		want time.Time
	}{
		{"empty", Config{Margin: m, MaxDelay: -1}, 0, deadline.Add(-2 * time.Millisecond)},
		{"grows with n", Config{Margin: m, MaxDelay: -1}, 10_000, deadline.Add(-12 * time.Millisecond)},
		{"clamped to the budget", Config{Margin: m, MaxDelay: -1}, 1_000_000, start},
		{"base over the budget", Config{Margin: Margin{Base: time.Second}, MaxDelay: -1}, 0, start},
		{"the caller's delay, in proportion to the pressure", Config{Margin: m, Pressure: half, MaxDelay: 20 * time.Millisecond}, 0, deadline.Add(-12 * time.Millisecond)},
		{"no pressure, no delay", Config{Margin: m, MaxDelay: 20 * time.Millisecond}, 0, deadline.Add(-2 * time.Millisecond)},
		{"the delay clamped with the rest", Config{Margin: m, Pressure: half, MaxDelay: time.Second}, 0, start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := New(tt.cfg).Plan(start, budget)
			if !plan.Deadline.Equal(deadline) || !plan.Start.Equal(start) {
				t.Fatalf("start %v, deadline %v; want %v, %v", plan.Start, plan.Deadline.Sub(start), start, budget)
			}
			if got := plan.FlushAt(tt.n); !got.Equal(tt.want) {
				t.Fatalf("FlushAt(%d) = %v; want %v", tt.n, got.Sub(start), tt.want.Sub(start))
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p := New(Config{Pressure: func() float64 { return 1 }})
	if p.Margin() != DefaultMargin {
		t.Errorf("Margin() = %+v; want DefaultMargin", p.Margin())
	}
	if got := p.Delay(); got != DefaultMaxDelay {
		t.Errorf("Delay() at a pressure of 1 = %v; want DefaultMaxDelay %v", got, DefaultMaxDelay)
	}
	if got := New(Config{Pressure: func() float64 { return 1 }, MaxDelay: -1}).Delay(); got != 0 {
		t.Errorf("Delay() with MaxDelay -1 = %v; want 0", got)
	}
}

func TestHopeless(t *testing.T) {
	start := time.Now()
	plan := New(Config{Margin: Margin{Base: 10 * time.Millisecond}, MaxDelay: -1}).Plan(start, 100*time.Millisecond)
	for _, tt := range []struct {
		at   time.Duration
		want bool
	}{
		{0, false},
		{90*time.Millisecond - MinWait - time.Nanosecond, false},
		{90*time.Millisecond - MinWait + time.Nanosecond, true},
		{time.Second, true},
	} {
		if got := plan.Hopeless(start.Add(tt.at)); got != tt.want {
			t.Errorf("Hopeless at %v = %v; want %v", tt.at, got, tt.want)
		}
	}
}

// TestMarginFromMeasurement: the margin keeps the default base and puts
// three times the measured cost on every number.
func TestMarginFromMeasurement(t *testing.T) {
	m := marginFor(3*time.Millisecond, time.Millisecond, 1000)
	if m.Base != DefaultMargin.Base || m.PerNumber != 12_000 {
		t.Fatalf("marginFor(3ms, 1ms, 1000) = %+v; want base %v, 12µs a number", m, DefaultMargin.Base)
	}
	if d := m.For(500); d != DefaultMargin.Base+6*time.Millisecond {
		t.Errorf("For(500) = %v; want the base plus 6ms", d)
	}
}

// TestCalibrate: the measurement on this machine, race detector or not,
// encodes and writes for real: its per-number cost is positive, and it
// leaves the base as it is. (How large it is depends on the machine: a
// benchmark's business, not a test's.)
func TestCalibrate(t *testing.T) {
	m := Calibrate()
	if m.Base != DefaultMargin.Base || m.PerNumber <= 0 {
		t.Fatalf("Calibrate() = %+v; want the default base and a positive cost per number", m)
	}
}

// TestLoopbackWriteCost: writing to a drained loopback connection takes
// some time, and the drain ends (no goroutine is left, see TestMain).
func TestLoopbackWriteCost(t *testing.T) {
	if d := loopbackWriteCost(make([]byte, 1<<20)); d <= 0 {
		t.Fatalf("a 1 MiB write took %v; want a positive duration", d)
	}
}
