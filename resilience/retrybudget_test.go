package resilience

import (
	"testing"
	"time"
)

func newClock() *clock { return &clock{t: time.Unix(1_000_000, 0)} }

// withdrawAll withdraws until refused and returns how many were allowed.
func withdrawAll(b *RetryBudget) int {
	n := 0
	for b.Withdraw() {
		n++
	}
	return n
}

func TestReserveOnly(t *testing.T) {
	c := newClock()
	b := NewRetryBudget(RetryBudgetConfig{MinPerSecond: 3, Now: c.now})
	if n := withdrawAll(b); n != 3 {
		t.Fatalf("a new budget allowed %d; want its reserve, 3", n)
	}
	c.advance(500 * time.Millisecond)
	if n := withdrawAll(b); n != 1 {
		t.Errorf("half a second later allowed %d; want 1 (1.5 tokens)", n)
	}
	c.advance(time.Hour)
	if n := withdrawAll(b); n != 3 {
		t.Errorf("after an hour allowed %d; want 3: the reserve holds one second's worth", n)
	}
	if got := b.Stats.Exhausted.Load(); got != 3 {
		t.Errorf("Exhausted = %d; want 3 (one per refusal)", got)
	}
}

// TestDeposits: with no reserve, tokens come from deposits alone, and they
// decay with the TTL.
func TestDeposits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration // between the deposits and the withdrawals
		want  int
	}{
		{"100 requests pay for 10", 0, 10},
		{"one TTL later, e^-1 of 10 tokens is 3.7", time.Second, 3},
		{"a minute later, nothing", time.Minute, 0},
	} {
		c := newClock()
		b := NewRetryBudget(RetryBudgetConfig{MinPerSecond: -1, TTL: time.Second, Now: c.now})
		if b.Withdraw() {
			t.Fatal("no reserve and no deposit, yet a withdrawal was allowed")
		}
		for range 100 {
			b.Deposit()
		}
		c.advance(tc.after)
		if n := withdrawAll(b); n != tc.want || b.Stats.Deposits.Load() != 100 {
			t.Errorf("%s: allowed %d after %d deposits; want %d", tc.name, n, b.Stats.Deposits.Load(), tc.want)
		}
	}
}

// TestSteadyShare sends 1,000 requests a second for a minute, each failing
// and asking for a retry: the retries stay near 10 % of the requests plus
// the reserve.
func TestSteadyShare(t *testing.T) {
	c := newClock()
	b := NewRetryBudget(RetryBudgetConfig{Now: c.now})
	allowed := 0
	for range 60_000 {
		c.advance(time.Millisecond)
		b.Deposit()
		if b.Withdraw() {
			allowed++
		}
	}
	want := 60_000*0.1 + 60*10
	if float64(allowed) > want*1.02 || float64(allowed) < want*0.9 {
		t.Errorf("allowed %d retries for 60,000 requests over 60 s; want about %.0f", allowed, want)
	}
}

func TestZeroConfig(t *testing.T) {
	b := NewRetryBudget(RetryBudgetConfig{})
	if n := withdrawAll(b); n != 10 {
		t.Errorf("the zero RetryBudgetConfig allowed %d at start; want the default reserve, 10", n)
	}
}
