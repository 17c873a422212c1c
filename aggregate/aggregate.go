// Package aggregate merges lists of integers into one sorted list in which
// every integer appears once.
//
// The package is pure computation: no I/O, no goroutines, no context.
//
// Contract:
//
//   - Inputs are []int64 covering the whole int64 range, math.MinInt64 and
//     math.MaxInt64 included. Upstream data is unsorted and may repeat:
//     [Normalize] turns it into a sorted, unique list in place.
//   - Every list this package produces is sorted ascending (by numeric value)
//     and unique (each integer once). [Set.Add] takes a "sorted" list and
//     requires exactly that without checking it; feeding it anything else is
//     a programmer error and yields unspecified order.
//   - Ownership: [Normalize] reorders its argument and returns a prefix of it.
//     [Set] copies what it is given and never retains the caller's slice; the
//     slice from [Set.Numbers] belongs to the Set and is valid until the next
//     Add or Reset.
//   - A [Set] is not safe for concurrent use; the pool ([AcquireSet]) is.
//
// Typical use in a request: normalize each upstream list as it arrives, Add
// it to a pooled Set, and use the merged list before releasing the Set:
//
//	set := aggregate.AcquireSet()
//	defer aggregate.ReleaseSet(set)
//	set.Add(aggregate.Normalize(list))
//	nums := set.Numbers() // valid until the next Add or ReleaseSet
package aggregate

import "sync"

// Normalize sorts nums ascending and removes duplicates in place, returning
// the unique prefix. The elements of nums past the returned length are left
// in an unspecified state. Normalize(nil) returns nil.
//
// Lists of radixThreshold numbers or more are sorted with a radix sort,
// which takes linear time and a pooled scratch buffer as large as nums;
// shorter ones with slices.Sort, in place.
func Normalize(nums []int64) []int64 {
	return normalize(nums, radixThreshold)
}

// mergeInto writes the sorted union of a and b (each sorted and unique) into
// out, which has room for len(a)+len(b) elements and does not alias a or b,
// in linear time, and returns the number of elements written. An integer
// present in both a and b is written once; a and b are not modified.
func mergeInto(out, a, b []int64) int {
	switch {
	case len(a) == 0:
		return copy(out, b)
	case len(b) == 0:
		return copy(out, a)
	case a[len(a)-1] < b[0]:
		return copy(out, a) + copy(out[len(a):], b)
	case b[len(b)-1] < a[0]:
		return copy(out, b) + copy(out[len(b):], a)
	}
	var i, j, k int
	if len(a) >= 2 && len(b) >= 2 {
		i, j, k = mergeCore(out, a, b)
	}
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		out[k] = min(x, y)
		k++
		i += b2i(x <= y)
		j += b2i(y <= x)
	}
	k += copy(out[k:], a[i:])
	k += copy(out[k:], b[j:])
	return k
}

// mergeCore merges while both a and b have an element after the current
// head, and returns how far it got in a, b and out. It needs len(a) >= 1,
// len(b) >= 1 and len(out) >= len(a)+len(b).
//
// The loop is branch-free: the order of interleaved inputs is unpredictable,
// so a compare-and-branch loop would mispredict about every other element.
// It emits the smaller head and advances whichever heads are not larger
// than the other (both on a tie, which drops the duplicate). The next
// elements are loaded before the comparison and selected with conditional
// moves, which takes the load latency off the loop-carried dependency
// chain; that roughly halves the time per element. It is a separate
// function so that its few live values stay in registers.
func mergeCore(out, a, b []int64) (i, j, k int) {
	x, y := a[0], b[0]
	lastA, lastB := len(a)-1, len(b)-1
	for i < lastA && j < lastB {
		nextX, nextY := a[i+1], b[j+1]
		out[k] = min(x, y)
		k++
		advA, advB := x <= y, y <= x
		if advA {
			x = nextX
		}
		if advB {
			y = nextY
		}
		i += b2i(advA)
		j += b2i(advB)
	}
	return i, j, k
}

// b2i converts a bool to 0 or 1; the compiler turns it into SETcc.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxRetainedSetCap is the capacity, in elements, above which Reset drops a
// Set's buffers instead of keeping them, so that pooled Sets do not pin the
// memory of one huge response (1<<20 elements is 8 MiB per buffer).
const maxRetainedSetCap = 1 << 20

// Set accumulates sorted unique lists into one sorted unique list, merging
// each one as it arrives. It keeps two buffers and swaps them on every merge,
// so once its buffers have grown to the working size it does not allocate.
// The zero Set is empty and ready to use. A Set must not be copied after
// first use and is not safe for concurrent use.
type Set struct {
	cur   []int64 // the merged list, sorted and unique
	spare []int64 // merge target, swapped with cur after each merge
}

// Add merges sorted, which must be sorted ascending and unique (see
// [Normalize]), into the set. The set copies what it needs and never retains
// sorted. Add invalidates slices returned earlier by Numbers.
func (s *Set) Add(sorted []int64) {
	switch {
	case len(sorted) == 0:
		return
	case len(s.cur) == 0 || s.cur[len(s.cur)-1] < sorted[0]:
		// Empty set, or sorted lies wholly after it: plain append.
		n := len(s.cur) + len(sorted)
		if cap(s.cur) < n {
			s.cur = grow(s.cur, n)
		}
		s.cur = append(s.cur, sorted...)
		return
	}
	n := len(s.cur) + len(sorted)
	if cap(s.spare) < n {
		s.spare = grow(s.spare[:0], n)
	}
	out := s.spare[:n]
	out = out[:mergeInto(out, s.cur, sorted)]
	s.cur, s.spare = out, s.cur[:0]
}

// grow returns b with capacity for at least n elements. It grows by a
// quarter at least, so a run of growing merges reallocates only a
// logarithmic number of times, but no more: a request's Set is held while
// its upstreams answer, and with doubling the four merges of four lists of
// a thousand numbers left it holding 6,000 elements instead of 4,000 (the
// hostile soak's heap, 1,500 requests per second, was half Set buffers).
// It does not overshoot maxRetainedSetCap when n fits under it, so that a
// result that could be kept by Reset is not dropped for the slack.
func grow(b []int64, n int) []int64 {
	c := max(n, cap(b)+cap(b)/4)
	if n <= maxRetainedSetCap {
		c = min(c, maxRetainedSetCap)
	}
	return append(make([]int64, 0, c), b...)
}

// Numbers returns the merged list, sorted ascending and unique. The slice
// belongs to the Set and is valid until the next Add or Reset; copy it to
// keep it longer. An empty Set returns an empty, possibly nil, slice.
func (s *Set) Numbers() []int64 { return s.cur }

// Len returns the number of integers in the set.
func (s *Set) Len() int { return len(s.cur) }

// Reset empties the set. It keeps its buffers for reuse, unless they exceed
// 1<<20 elements, in which case they are dropped so that a pooled Set does
// not pin the memory of an exceptionally large result.
func (s *Set) Reset() {
	s.cur = resetBuf(s.cur)
	s.spare = resetBuf(s.spare)
}

func resetBuf(b []int64) []int64 {
	if cap(b) > maxRetainedSetCap {
		return nil
	}
	return b[:0]
}

var setPool = sync.Pool{New: func() any { return new(Set) }}

// AcquireSet returns an empty Set from a pool. Return it with [ReleaseSet]
// when its Numbers are no longer used.
func AcquireSet() *Set { return setPool.Get().(*Set) }

// ReleaseSet resets s and returns it to the pool. Neither s nor any slice it
// returned may be used afterwards. ReleaseSet(nil) does nothing.
func ReleaseSet(s *Set) {
	if s == nil {
		return
	}
	s.Reset()
	setPool.Put(s)
}
