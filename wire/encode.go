// This file holds the run encoder behind AppendJSON: it writes many numbers
// of one sign and digit count at a fixed width.

package wire

import "encoding/binary"

// runBounds describes the integers of one sign and digit count as the range
// [lo, lo+span], so that membership costs one subtraction and one unsigned
// comparison.
type runBounds struct {
	lo   int64
	span uint64
}

// runs[neg][d] bounds the integers with d decimal digits that are negative
// (neg 1) or not (neg 0).
var runs = func() (t [2][maxIntLen]runBounds) {
	for d := 1; d < maxIntLen; d++ {
		lo, hi := pow10[d-1], uint64(1<<63-1)
		if d == 1 {
			lo = 0
		}
		if d < 19 {
			hi = pow10[d] - 1
		}
		t[0][d] = runBounds{int64(lo), hi - lo}
		// Negatives: -hi..-lo, where -(1<<63) is the widest.
		if d == 19 {
			hi = 1 << 63
		}
		t[1][d] = runBounds{int64(-hi), hi - max(lo, 1)}
	}
	return t
}()

// encode8 returns the eight decimal digits of x < 1e8, zero padded, as
// ASCII in a little-endian word: the first digit in the low byte. It takes
// two look-ups in digitQuads, which measured faster than computing the
// digits in parallel in one word (SWAR): about 25 dependent arithmetic
// instructions against 6 and two loads that the CPU overlaps across
// numbers. The min calls only prove the indexes in range (x < 1e8).
func encode8(x uint32) uint64 {
	hi := x / 1e4
	lo := x - hi*1e4
	return uint64(digitQuads[min(hi, 9999)]) | uint64(digitQuads[min(lo, 9999)])<<32
}

// put64 stores x at b[p:p+8], little-endian. The fixed-length reslice
// costs one bounds check and no pointer masking.
func put64(b []byte, p int, x uint64) { binary.LittleEndian.PutUint64(b[p:p+8], x) }

// runLayout is what the run loops need to know about one run, computed once.
type runLayout struct {
	runBounds
	neg   uint64 // 0, or all ones for negative numbers: u = (v^neg)-neg
	sep   uint64 // "," or ",-" as a little-endian word
	off   uint   // bytes before the digits: 1 or 2
	width int    // bytes per number: off + digits
	shift uint   // right shift that drops the leading group's zero padding
}

// encodeRun writes the leading numbers of nums that have sign neg (1 for
// negative) and d digits, each as a comma, a minus when neg, and its digits,
// from buf[pos], and returns how many it wrote and the position after them.
// The first number must qualify; the caller guarantees room in buf for all
// of nums at that width plus encodeSlack.
//
// The loops store whole words: a number's leading group of digits is
// encoded zero padded and shifted right by the padding, so the leading zeros
// drop out and zero bytes land after it, where the next store overwrites
// them. Each width class has its own small loop so that everything stays in
// registers.
func encodeRun(buf []byte, pos int, nums []int64, neg, d int) (int, int) {
	l := runLayout{
		runBounds: runs[neg][d],
		neg:       -uint64(neg),
		sep:       uint64(',') | uint64('-')<<8&-uint64(neg),
		off:       uint(1 + neg),
		width:     1 + neg + d,
	}
	switch {
	case d <= 8:
		l.shift = uint(8-d) * 8
		if neg == 0 {
			return runNonNegUpTo8(buf, pos, nums, &l)
		}
		return runUpTo8(buf, pos, nums, &l)
	case d <= 12:
		l.shift = uint(12-d) * 8
		if neg == 0 {
			return runNonNegUpTo12(buf, pos, nums, &l)
		}
		return runUpTo12(buf, pos, nums, &l)
	case d <= 16:
		l.shift = uint(16-d) * 8
		return runUpTo16(buf, pos, nums, &l)
	}
	l.shift = uint(20-d) * 8
	return runUpTo20(buf, pos, nums, &l)
}

// runUpTo8 is encodeRun for numbers of 1 to 8 digits.
func runUpTo8(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, neg, sep, off, width, shift := l.lo, l.span, l.neg, l.sep, int(l.off), l.width, l.shift&63
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		u := (uint64(v) ^ neg) - neg
		put64(buf, pos, sep)
		put64(buf, pos+off, encode8(uint32(u))>>shift)
		pos += width
	}
	return len(nums), pos
}

// runNonNegUpTo8 is runUpTo8 for non-negative numbers: the common case,
// with fewer live values.
func runNonNegUpTo8(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, width, shift := l.lo, l.span, l.width, l.shift&63
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		buf[pos] = ','
		put64(buf, pos+1, encode8(uint32(v))>>shift)
		pos += width
	}
	return len(nums), pos
}

// runNonNegUpTo12 is runUpTo12 for non-negative numbers: the common case
// (9 digits for values below 1e9), with fewer live values.
func runNonNegUpTo12(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, width, shift := l.lo, l.span, l.width, l.shift&31
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		u := uint64(v)
		hi := u / 1e8
		put64(buf, pos, ','|uint64(digitQuads[min(hi, 9999)]>>shift)<<8)
		put64(buf, pos+width-8, encode8(uint32(u-hi*1e8)))
		pos += width
	}
	return len(nums), pos
}

// runUpTo12 is encodeRun for numbers of 9 to 12 digits: a leading group of
// up to four digits from the table, stored with the separator, then eight.
func runUpTo12(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, neg, sep, off, width, shift := l.lo, l.span, l.neg, l.sep, l.off&7, l.width, l.shift&31
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		u := (uint64(v) ^ neg) - neg
		hi := u / 1e8
		put64(buf, pos, sep|uint64(digitQuads[min(hi, 9999)]>>shift)<<(off*8))
		put64(buf, pos+width-8, encode8(uint32(u-hi*1e8)))
		pos += width
	}
	return len(nums), pos
}

// runUpTo16 is encodeRun for numbers of 13 to 16 digits.
func runUpTo16(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, neg, sep, off, width, shift := l.lo, l.span, l.neg, l.sep, int(l.off), l.width, l.shift&63
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		u := (uint64(v) ^ neg) - neg
		hi := u / 1e8
		put64(buf, pos, sep)
		put64(buf, pos+off, encode8(uint32(hi))>>shift)
		put64(buf, pos+width-8, encode8(uint32(u-hi*1e8)))
		pos += width
	}
	return len(nums), pos
}

// runUpTo20 is encodeRun for numbers of 17 to 19 digits: a leading group of
// up to four digits (u/1e16 <= 1844) from the table, then twice eight.
func runUpTo20(buf []byte, pos int, nums []int64, l *runLayout) (int, int) {
	lo, span, neg, sep, off, width, shift := l.lo, l.span, l.neg, l.sep, l.off&7, l.width, l.shift&31
	for i, v := range nums {
		if uint64(v)-uint64(lo) > span {
			return i, pos
		}
		u := (uint64(v) ^ neg) - neg
		hi := u / 1e16
		mid := u - hi*1e16
		mhi := mid / 1e8
		put64(buf, pos, sep|uint64(digitQuads[min(hi, 9999)]>>shift)<<(off*8))
		put64(buf, pos+width-16, encode8(uint32(mhi)))
		put64(buf, pos+width-8, encode8(uint32(mid-mhi*1e8)))
		pos += width
	}
	return len(nums), pos
}
