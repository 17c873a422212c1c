// This file holds the references and input builders shared by the table
// tests, the fuzz tests and the benchmarks.

package wire

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// appendJSONStrconv is AppendJSON written the obvious way.
func appendJSONStrconv(dst []byte, nums []int64) []byte {
	dst = append(dst, jsonPrefix...)
	for i, v := range nums {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, v, 10)
	}
	return append(dst, jsonSuffix...)
}

// appendInt appends the decimal form of v to dst with AppendJSON's
// formatter (decimalLen and putDigits, which write the numbers that do not
// fit the fast run encoder's slack), exactly as strconv.AppendInt(dst, v, 10)
// does, so that tests and benchmarks can hold the formatter against strconv
// one number at a time.
func appendInt(dst []byte, v int64) []byte {
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

// sortedUnique sorts nums and drops repeats, in place.
func sortedUnique(nums []int64) []int64 {
	slices.Sort(nums)
	return slices.Compact(nums)
}

// spread returns n sorted unique integers spread over [lo, hi], one drawn
// at random from each of n equal slices of the range, from a deterministic
// generator. It needs n <= hi-lo.
func spread(r *rand.Rand, n int, lo, hi int64) []int64 {
	step := (uint64(hi) - uint64(lo)) / uint64(n) // unsigned: the range may span all of int64
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(uint64(lo) + uint64(i)*step + r.Uint64N(step))
	}
	return out
}

// fuzzNums turns fuzz bytes into a list of integers. Each integer is a tag
// byte, whose low three bits choose its kind, and the bytes of its value
// where the kind needs them, so that every fuzz input reaches the cases the
// wire format must carry: the ends of int64, repeats, 1- to 8-byte values
// of either sign in any order, and the integers at each power of ten, where
// the decimal width changes. It stops at a value cut short.
func fuzzNums(data []byte) []int64 {
	var out []int64
	for len(data) > 0 {
		tag := data[0]
		data = data[1:]
		var v int64
		switch kind := tag & 7; kind {
		case 0:
			v = math.MinInt64
		case 1:
			v = math.MaxInt64
		case 2: // the previous integer again
			if len(out) > 0 {
				v = out[len(out)-1]
			}
		case 3, 4, 5, 6: // a little-endian value of 1, 2, 4 or 8 bytes, sign extended
			width := 1 << (kind - 3)
			if len(data) < width {
				return out
			}
			var b [8]byte
			copy(b[:], data[:width])
			shift := uint(64 - 8*width)
			v = int64(binary.LittleEndian.Uint64(b[:])<<shift) >> shift
			data = data[width:]
		case 7: // 10^k - 1, 10^k or 10^k + 1, either sign, k from the tag
			if len(data) < 1 {
				return out
			}
			v = int64(pow10[int(tag>>3)%19]) + int64(data[0]%3) - 1
			if data[0]&4 != 0 {
				v = -v
			}
			data = data[1:]
		}
		out = append(out, v)
	}
	return out
}

// numsSeeds are fuzzNums inputs worth starting from.
var numsSeeds = [][]byte{
	{},
	{3, 0, 3, 1, 3, 2, 3, 0xff}, // 0 1 2 -1
	{0, 1, 0, 2, 1},             // the ends of int64, unsorted and repeated
	{6, 0, 0, 0, 0, 0, 0, 0, 0x80, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{5, 0xff, 0xe0, 0x10, 0x27, 2, 4, 0x10, 0x27},      // 655417599 twice, 10000
	{7 | 18<<3, 0, 7 | 18<<3, 6, 7 | 8<<3, 2, 7, 1, 2}, // 1e18-1, -(1e18-1), 1e8+1, 1 twice
}
