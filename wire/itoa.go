// This file holds the fast decimal formatter used by AppendJSON.

package wire

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

// digitQuads[i] holds the four ASCII digits of i (0..9999), zero padded,
// first digit in the low byte, ready for a little-endian 32-bit store. At
// 40 KB it is mostly cache resident while encoding a large list, and it
// halves the work per digit compared with digitPairs alone.
var digitQuads = func() (t [10000]uint32) {
	for i := range t {
		t[i] = uint32(digitPairs[i/100]) | uint32(digitPairs[i%100])<<16
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

// putDigits writes the decimal digits of u into b, which must be exactly
// decimalLen(u) bytes long. It writes four digits per table look-up.
func putDigits(b []byte, u uint64) {
	i := len(b)
	for u >= 1e8 {
		q := u / 1e8
		x := uint32(u - q*1e8)
		hi := x / 1e4
		// Two independent look-ups and stores of four digits each.
		binary.LittleEndian.PutUint32(b[i-8:], digitQuads[hi])
		binary.LittleEndian.PutUint32(b[i-4:], digitQuads[x-hi*1e4])
		i -= 8
		u = q
	}
	x := uint32(u) // < 1e8
	if x >= 1e4 {
		q := x / 1e4
		binary.LittleEndian.PutUint32(b[i-4:], digitQuads[x-q*1e4])
		i -= 4
		x = q
	}
	if x >= 100 {
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

// b2i converts a bool to 0 or 1; the compiler turns it into SETcc.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
