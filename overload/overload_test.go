package overload

import (
	"math"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimits(t *testing.T) {
	c := New(Config{QueueLimit: 10 * time.Millisecond, MaxInFlight: 2})
	tests := []struct {
		name     string
		sojourn  time.Duration
		inFlight int64
		want     Reason
	}{
		{"quiet", 0, 1, Admitted},
		{"at the limits", 10 * time.Millisecond, 2, Admitted},
		{"waited too long", 11 * time.Millisecond, 1, Queue},
		{"too many in flight", 0, 3, InFlight},
		{"both: in flight first", time.Second, 3, InFlight},
	}
	for _, tt := range tests {
		if got := c.Admit(tt.sojourn, tt.inFlight); got != tt.want {
			t.Errorf("%s: Admit(%v, %d) = %v; want %v", tt.name, tt.sojourn, tt.inFlight, got, tt.want)
		}
	}
	off := New(Config{QueueLimit: -1, MaxInFlight: -1})
	if got := off.Admit(time.Hour, 1<<40); got != Admitted {
		t.Errorf("with the limits off: %v; want Admitted", got)
	}
	if def := New(Config{}); def.Admit(DefaultQueueLimit, DefaultMaxInFlight) != Admitted ||
		def.Admit(DefaultQueueLimit+1, 1) != Queue || def.Admit(0, DefaultMaxInFlight+1) != InFlight {
		t.Error("zero Config does not mean the documented defaults")
	}
}

// TestCPUTrigger drives the trigger with a fake busy share and clock: the
// refused share grows by half of what is left up to its cap every interval
// while over the limit, holds between nine tenths of it and it, shrinks
// under that, and reaches zero.
func TestCPUTrigger(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	busy := 0.5
	draw := 0.0 // what Rand returns
	c := New(Config{Busy: func() float64 { return busy }, BusyLimit: 0.9, Interval: 100 * time.Millisecond,
		Now: clock.now, Rand: func() float64 { return draw }})
	step := func() Reason {
		clock.advance(100 * time.Millisecond)
		return c.Admit(0, 1)
	}
	if r := step(); r != Admitted || c.Share() != 0 {
		t.Fatalf("below the limit: %v, share %g; want Admitted, 0", r, c.Share())
	}
	busy = 1
	for i := 1; i <= 3; i++ {
		step()
		if want := maxShare * (1 - math.Pow(1-shareRise, float64(i))); c.Share() < want-1e-9 || c.Share() > want+1e-9 {
			t.Fatalf("after %d intervals over the limit: share %g; want %g", i, c.Share(), want)
		}
	}
	draw = c.Share() - 0.01
	if r := c.Admit(0, 1); r != CPU {
		t.Errorf("a draw under the share: %v; want CPU", r)
	}
	draw = c.Share() + 0.01
	if r := c.Admit(0, 1); r != Admitted {
		t.Errorf("a draw over the share: %v; want Admitted", r)
	}
	for range 20 {
		step()
	}
	if c.Share() < maxShare-1e-3 || c.Share() > maxShare {
		t.Errorf("long over the limit: share %g; want the cap %g", c.Share(), maxShare)
	}
	held := c.Share()
	busy = 0.85 // between nine tenths of the limit and the limit: held
	step()
	if c.Share() != held {
		t.Errorf("just under the limit: share %g; want it held at %g", c.Share(), held)
	}
	busy = 0.5
	for i := 0; c.Share() > 0; i++ {
		if i == 20 {
			t.Fatalf("share %g after 20 intervals under the limit; want 0", c.Share())
		}
		step()
	}
	draw = 0
	if r := step(); r != Admitted {
		t.Errorf("after the overload: %v; want Admitted", r)
	}
}

// TestReviseOncePerInterval: within an interval the share does not move,
// however many requests arrive.
func TestReviseOncePerInterval(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := New(Config{Busy: func() float64 { return 1 }, Now: clock.now, Rand: func() float64 { return 1 }})
	for range 100 {
		c.Admit(0, 1)
	}
	if want := maxShare * shareRise; c.Share() != want {
		t.Fatalf("share %g after one interval's requests; want one step, %g", c.Share(), want)
	}
}

func TestWantsSojourn(t *testing.T) {
	busy := 0.5
	c := New(Config{Busy: func() float64 { return busy }, BusyLimit: 0.8})
	if c.WantsSojourn() {
		t.Error("wanted on a machine at half its CPUs")
	}
	busy = 0.7
	if !c.WantsSojourn() {
		t.Error("not wanted on a busy machine")
	}
	if New(Config{QueueLimit: -1, Busy: func() float64 { return 1 }}).WantsSojourn() {
		t.Error("wanted with no queue limit")
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		if r.String() == "" || r.Message() == "" || seen[r.String()] {
			t.Errorf("reason %d: name %q, message %q", r, r.String(), r.Message())
		}
		seen[r.String()] = true
	}
	if Admitted.String() != "" || len(Reasons) != int(ReasonCount)-1 {
		t.Errorf("Admitted %q; %d reasons of %d", Admitted, len(Reasons), ReasonCount)
	}
}
