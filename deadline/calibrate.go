// This file holds Calibrate, which measures the per-number margin on the
// machine the service runs on.

package deadline

import (
	"io"
	"math/rand/v2"
	"net"
	"time"

	"numbers/wire"
)

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
