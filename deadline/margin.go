package deadline

import (
	"io"
	"math/rand/v2"
	"net"
	"time"

	"numbers/wire"
)

// Margin is the time kept back before the deadline to encode and write a
// result: Base plus PerNumber for each number in it. The flush time is
// recomputed as results arrive (Plan.FlushAt), so a big result is flushed
// earlier than a small one.
type Margin struct {
	// Base covers what does not grow with the result: the timer's wake-up
	// delay when the machine is busy, the headers, the write system call and
	// delivery to a caller on the same host.
	Base time.Duration
	// PerNumber is the cost of encoding and writing one number, in nanoseconds.
	PerNumber float64
}

// DefaultMargin is used when no calibrated Margin is given: 15ms plus 20ns a
// number, a little over what Calibrate measures on a 2-core machine (12-14ns
// a number, safety factor included), so that a million numbers are flushed
// 35ms early. Go's runtime may leave network events unpolled 10ms while
// every P is busy (sysmon polls at least every 10ms); on top of that, a
// caller sharing the machine reads its answer a few milliseconds after the
// service wrote it. With a 10ms base, the open-loop bench sharing 2 CPUs
// with the service (2,000 requests a second, a distinct query each) saw
// 2-6 answers in 10,000 late at the caller in 4 runs of 5; with 15ms, none
// in 5, for 0.007 less completeness (0.822 to 0.815).
var DefaultMargin = Margin{Base: 15 * time.Millisecond, PerNumber: 20}

// For returns the margin for a result of n numbers.
func (m Margin) For(n int) time.Duration {
	return m.Base + time.Duration(m.PerNumber*float64(n))
}

// calibrationSize is the number of numbers Calibrate encodes and writes.
const calibrationSize = 1 << 18

// Calibrate measures what encoding and writing numbers costs on this machine
// and returns a Margin with a safety factor of three over the best of a few
// rounds: encoding with wire.AppendJSON, writing over a loopback TCP
// connection to a reader that drains it. It takes a few milliseconds. If the
// loopback connection cannot be made, the write cost is taken as zero and
// only the encoding is measured.
func Calibrate() Margin {
	rng := rand.New(rand.NewPCG(1, 2))
	nums := make([]int64, calibrationSize)
	for i := range nums {
		nums[i] = int64(i)*4096 + rng.Int64N(4096) // sorted, unique, 7-10 digits
	}
	buf := make([]byte, 0, wire.EncodedSizeHint(nums))
	encode := time.Duration(1 << 62)
	for range 3 {
		t := time.Now()
		buf = wire.AppendJSON(buf[:0], nums)
		encode = min(encode, time.Since(t))
	}
	return marginFor(encode, loopbackWriteCost(buf), calibrationSize)
}

// marginFor is the Margin for a result of n numbers measured to take encode
// to encode and write to write: the default base, and three times their
// cost per number.
func marginFor(encode, write time.Duration, n int) Margin {
	return Margin{Base: DefaultMargin.Base, PerNumber: 3 * float64(encode+write) / float64(n)}
}

// loopbackWriteCost returns the best of three writes of b to a loopback TCP
// connection drained by another goroutine, or zero if none can be made.
func loopbackWriteCost(b []byte) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c) //nolint:errcheck // drains until the writer closes
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0
	}
	best := time.Duration(1 << 62)
	for range 3 {
		t := time.Now()
		if _, err := c.Write(b); err != nil {
			best = 0
			break
		}
		best = min(best, time.Since(t))
	}
	c.Close()
	<-done
	return best
}
