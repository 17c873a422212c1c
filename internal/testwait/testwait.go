// Package testwait is the tests' one way to wait for what nothing signals:
// an effect in another goroutine that the code under test does not report
// (a counter a background fetch increments, a span exported after its
// answer), or in another process (a real redis-server, a child process).
// Where the code can signal, tests wait on that signal instead.
package testwait

import (
	"time"
)

// Bound is how long Eventually waits at most: generous, so that a loaded
// machine is never mistaken for a failure.
const Bound = 10 * time.Second

// TB is the part of testing.TB that Eventually uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Eventually checks cond until it holds, polling at a period that starts at
// 100µs and doubles up to 10ms, and fails the test naming what it waited
// for once Bound has passed.
func Eventually(t TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	period := 100 * time.Microsecond
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", Bound, what)
		}
		<-ticker.C
		if period < 10*time.Millisecond {
			period *= 2
			ticker.Reset(period)
		}
	}
}
