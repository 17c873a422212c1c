// This file holds the trivially correct oracle and input decoders shared by
// the table tests, the fuzz tests and the benchmarks.

package aggregate

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
)

// oracleUnion returns the sorted set of all integers in lists, built with a
// map and a sort. It never returns nil.
func oracleUnion(lists ...[]int64) []int64 {
	seen := map[int64]bool{}
	for _, l := range lists {
		for _, v := range l {
			seen[v] = true
		}
	}
	out := make([]int64, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// naiveMerge is the reference the benchmarks compare against: append all,
// sort, compact.
func naiveMerge(dst []int64, lists ...[]int64) []int64 {
	dst = dst[:0]
	for _, l := range lists {
		dst = append(dst, l...)
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// decodeInts turns fuzz bytes into integers. The first byte picks a width so
// that the fuzzer explores both heavy duplication (1-byte values, sign
// extended) and the full int64 range (8-byte values).
func decodeInts(data []byte) []int64 {
	if len(data) == 0 {
		return nil
	}
	width := []int{1, 2, 4, 8}[data[0]%4]
	data = data[1:]
	out := make([]int64, 0, len(data)/width)
	for len(data) >= width {
		var v int64
		switch width {
		case 1:
			v = int64(int8(data[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(data)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(data)))
		default:
			v = int64(binary.LittleEndian.Uint64(data))
		}
		out = append(out, v)
		data = data[width:]
	}
	return out
}

// sortedUniques returns n distinct random integers in [lo, hi), sorted,
// from a deterministic generator.
func sortedUniques(r *rand.Rand, n int, lo, hi int64) []int64 {
	seen := make(map[int64]struct{}, n)
	out := make([]int64, 0, n)
	for len(out) < n {
		v := lo + r.Int64N(hi-lo)
		if _, dup := seen[v]; dup {
			continue
		}
		seen[v] = struct{}{}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
