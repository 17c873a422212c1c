// This file holds the fast decimal formatter used by AppendJSON.

package aggregate

import (
	"encoding/binary"
	"math/bits"
)

// maxIntLen is the longest decimal int64: len("-9223372036854775808").
const maxIntLen = 20

// digitPairs[i] holds the two ASCII digits of i (0..99), first digit in the
// low byte, ready for a little-endian 16-bit store.
var digitPairs = func() (t [100]uint16) {
	for i := range t {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return t
}()

// pow10 holds 10^i for i in 0..19.
var pow10 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// decimalLen returns the number of decimal digits of u (1 for 0).
func decimalLen(u uint64) int {
	// 1233/4096 approximates log10(2): t is either the digit count minus one
	// or the digit count minus two; one comparison settles which.
	t := bits.Len64(u|1) * 1233 >> 12
	return t + b2i(u|1 >= pow10[t])
}

// intLen returns len(strconv.FormatInt(v, 10)).
func intLen(v int64) int {
	if v < 0 {
		return 1 + decimalLen(-uint64(v))
	}
	return decimalLen(uint64(v))
}

// AppendInt appends the decimal form of v to dst, exactly as
// strconv.AppendInt(dst, v, 10) does, and returns the extended slice. It
// handles math.MinInt64. It is faster than strconv because it computes the
// length first and writes the digits in place, eight at a time with
// independent two-digit table look-ups.
func AppendInt(dst []byte, v int64) []byte {
	n := len(dst)
	u := uint64(v)
	neg := b2i(v < 0)
	if v < 0 {
		u = -u // also right for MinInt64: -(1<<63) wraps to 1<<63 as uint64
	}
	end := n + neg + decimalLen(u)
	if cap(dst) < end {
		dst = append(dst, make([]byte, end-n)...)
	}
	dst = dst[:end]
	dst[n] = '-' // overwritten by the first digit when v >= 0
	putDigits(dst[n+neg:end], u)
	return dst
}

// putDigits writes the decimal digits of u into b, which must be exactly
// decimalLen(u) bytes long.
func putDigits(b []byte, u uint64) {
	i := len(b)
	for u >= 1e8 {
		q := u / 1e8
		putEight(b[i-8:i], uint32(u-q*1e8))
		i -= 8
		u = q
	}
	x := uint32(u)
	for x >= 100 {
		q := x / 100
		binary.LittleEndian.PutUint16(b[i-2:], digitPairs[x-q*100])
		i -= 2
		x = q
	}
	if x >= 10 {
		binary.LittleEndian.PutUint16(b[i-2:], digitPairs[x])
		return
	}
	b[i-1] = byte('0' + x)
}

// putEight writes x (< 1e8) as exactly eight digits, zero padded, into b.
// The four look-ups do not depend on each other, so they run in parallel.
func putEight(b []byte, x uint32) {
	_ = b[7]
	hi := x / 10000
	lo := x - hi*10000
	h1 := hi / 100
	l1 := lo / 100
	binary.LittleEndian.PutUint16(b[0:], digitPairs[h1])
	binary.LittleEndian.PutUint16(b[2:], digitPairs[hi-h1*100])
	binary.LittleEndian.PutUint16(b[4:], digitPairs[l1])
	binary.LittleEndian.PutUint16(b[6:], digitPairs[lo-l1*100])
}
