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
// while over the limit, holds between nine tenths of it and it, shrinks by
// a third under that, and reaches zero.
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
	for i := 1; c.Share() > 0; i++ {
		before := c.Share()
		step()
		if want := before * shareDrop; c.Share() > 0 && math.Abs(c.Share()-want) > 1e-9 {
			t.Fatalf("after %d intervals under the limit: share %g; want %g (a third less)", i, c.Share(), want)
		}
		if i == 20 {
			t.Fatalf("share %g after 20 intervals under the limit; want 0", c.Share())
		}
	}
	draw = 0
	if r := step(); r != Admitted {
		t.Errorf("after the overload: %v; want Admitted", r)
	}
}

// TestLagTrigger drives the callers' lag with a fake count of unread
// answers: the lag is the count over the rate of requests, it cuts the
// share admitted by the ratio of the limit to it, falls by half an
// interval, is capped, and is not measured on a machine with CPU to spare.
func TestLagTrigger(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	busy, busyNow, unread, counts := 0.5, 1.0, 0, 0
	c := New(Config{Busy: func() float64 { return busy }, BusyNow: func() float64 { return busyNow }, BusyLimit: 0.9,
		Unread: func() (int, bool) { counts++; return unread, true }, LagLimit: 50 * time.Millisecond,
		Interval: 100 * time.Millisecond, Now: clock.now, Rand: func() float64 { return 1 }})
	// step ends an interval with 10 requests: the first of them revises.
	step := func() {
		clock.advance(100 * time.Millisecond)
		for range 10 {
			c.Admit(0, 1)
		}
	}
	step() // the first revision has no interval before it to measure
	tests := []struct {
		name   string
		unread int
		lag    time.Duration
		share  float64
	}{
		{"callers keep up", 0, 0, 0},
		{"20 unread at 100/s", 20, 200 * time.Millisecond, 0.75},
		{"still lagging", 20, 200 * time.Millisecond, 1 - 0.25*0.25},
		{"caught up: the lag falls by half", 0, 100 * time.Millisecond, 1 - 0.0625*0.5},
		{"at the limit: held", 0, 50 * time.Millisecond, 1 - 0.0625*0.5},
		{"over half the limit: held", 0, 25 * time.Millisecond, 1 - 0.0625*0.5},
		{"under half the limit: a tenth more admitted", 0, 12500 * time.Microsecond, 1 - 0.03125*admitGrow},
		{"far behind: capped", 1000, 10 * time.Second, maxLagShare},
	}
	for _, tt := range tests {
		unread = tt.unread
		step()
		if c.Lag() != tt.lag || math.Abs(c.Share()-tt.share) > 1e-9 {
			t.Fatalf("%s: lag %v, share %g; want %v, %g", tt.name, c.Lag(), c.Share(), tt.lag, tt.share)
		}
	}
	busyNow, counts = 0.4, 0 // under half the busy limit: not measured
	step()
	if counts != 0 || c.Lag() != 5*time.Second {
		t.Errorf("on a machine with CPU to spare: %d counts, lag %v; want none, the lag falling by half", counts, c.Lag())
	}
	// lagMemory after the lag was last over the limit, the share refused
	// shrinks by a third again. (Meanwhile the busy share holds it.)
	busy = 0.85
	for c.Lag() > 50*time.Millisecond {
		step()
	}
	for now := clock.t; clock.t.Sub(now) <= lagMemory; {
		step()
	}
	busy = 0.5
	before := c.Share()
	if before < 0.5 {
		t.Fatalf("held: share %g; want it still refusing", before)
	}
	step()
	if want := before * shareDrop; math.Abs(c.Share()-want) > 1e-9 {
		t.Errorf("long after the lag: share %g; want %g (a third less)", c.Share(), want)
	}
}

// TestLagLimitOff: with the lag limit off, the busy share alone moves the
// share refused, down as well as up.
func TestLagLimitOff(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	busy := 1.0
	c := New(Config{Busy: func() float64 { return busy }, LagLimit: -1, Unread: func() (int, bool) { return 1000, true },
		Interval: 100 * time.Millisecond, Now: clock.now, Rand: func() float64 { return 1 }})
	clock.advance(100 * time.Millisecond)
	c.Admit(0, 1)
	if c.Share() != maxShare*shareRise {
		t.Fatalf("over the busy limit: share %g; want %g", c.Share(), maxShare*shareRise)
	}
	busy = 0.5
	clock.advance(100 * time.Millisecond)
	c.Admit(0, 1)
	if want := maxShare * shareRise * shareDrop; math.Abs(c.Share()-want) > 1e-9 || c.Lag() != 0 {
		t.Errorf("under it: share %g, lag %v; want %g, 0", c.Share(), c.Lag(), want)
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
