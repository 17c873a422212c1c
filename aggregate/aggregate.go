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

// mergeInPlace merges b into the list buf[:la], in place: buf[:la] and b
// are sorted and unique, len(buf) is la+len(b), and b shares no memory with
// buf unless it is a slice of buf[:la]. It writes the union at the front of buf, in linear time, and
// returns its length; b is not modified. An integer in both is written
// once.
//
// It merges from the back, writing the larger head at the end of buf: the
// next write always lands above the unread part of buf[:la] (its distance
// from it is what is left of b plus the duplicates met), so one buffer is
// enough. Duplicates leave a gap between what is left of buf[:la] and the
// merged tail, which one copy closes at the end.
func mergeInPlace(buf []int64, la int, b []int64) int {
	n := len(buf)
	switch {
	case la == 0:
		return copy(buf, b)
	case len(b) == 0:
		return la
	case buf[la-1] < b[0]:
		copy(buf[la:], b)
		return n
	case b[len(b)-1] < buf[0]:
		copy(buf[len(b):], buf[:la])
		copy(buf, b)
		return n
	}
	i, j, w := la-1, len(b)-1, n-1
	if la >= 2 && len(b) >= 2 {
		i, j, w = mergeCoreBack(buf, b, i, j, w)
	}
	for i >= 0 && j >= 0 {
		x, y := buf[i], b[j]
		buf[w] = max(x, y)
		w--
		i -= b2i(x >= y)
		j -= b2i(y >= x)
	}
	// What is left of b goes below the merged tail; what is left of
	// buf[:la] is already in place in buf[:i+1].
	w -= copy(buf[w-j:w+1], b[:j+1])
	if w == i { // no duplicates: the union is already in place
		return n
	}
	return i + 1 + copy(buf[i+1:], buf[w+1:])
}

// mergeCoreBack merges from the back while both lists have an element
// before the current head, and returns how far down it got in buf[:la], b
// and the output (i, j and w as in mergeInPlace). It needs i >= 1 and
// j >= 1.
//
// The loop is branch-free: the order of interleaved inputs is unpredictable,
// so a compare-and-branch loop would mispredict about every other element.
// It emits the larger head and moves down whichever heads are not smaller
// than the other (both on a tie, which drops the duplicate). The next
// elements are loaded before the comparison and selected with conditional
// moves, which takes the load latency off the loop-carried dependency
// chain; that roughly halves the time per element. It is a separate
// function so that its few live values stay in registers.
func mergeCoreBack(buf, b []int64, i, j, w int) (int, int, int) {
	x, y := buf[i], b[j]
	for i > 0 && j > 0 {
		prevX, prevY := buf[i-1], b[j-1]
		buf[w] = max(x, y)
		w--
		downA, downB := x >= y, y >= x
		if downA {
			x = prevX
		}
		if downB {
			y = prevY
		}
		i -= b2i(downA)
		j -= b2i(downB)
	}
	return i, j, w
}

// b2i converts a bool to 0 or 1; the compiler turns it into SETcc.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxRetainedSetCap is the capacity, in elements, above which Reset drops a
// Set's buffer instead of keeping it, so that pooled Sets do not pin the
// memory of one huge response (1<<20 elements is 8 MiB).
const maxRetainedSetCap = 1 << 20

// Set accumulates sorted unique lists into one sorted unique list, merging
// each one as it arrives. It merges in place into one buffer, so once that
// has grown to the working size it does not allocate, and a Set held while
// a request's upstreams answer holds no more than its result and the room
// for the next list. The zero Set is empty and ready to use. A Set must not
// be copied after first use and is not safe for concurrent use.
type Set struct {
	cur []int64 // the merged list, sorted and unique; the merges' room is past its end
}

// Add merges sorted, which must be sorted ascending and unique (see
// [Normalize]), into the set. The set copies what it needs and never retains
// sorted. sorted may be the set's own Numbers or a slice of it (each of its
// elements is then read before the merge writes over it), which changes
// nothing; it must not otherwise share memory with the set. Add
// invalidates slices returned earlier by Numbers.
func (s *Set) Add(sorted []int64) {
	if len(sorted) == 0 {
		return
	}
	la, n := len(s.cur), len(s.cur)+len(sorted)
	if cap(s.cur) < n {
		s.cur = grow(s.cur, n)
	}
	buf := s.cur[:n]
	s.cur = buf[:mergeInPlace(buf, la, sorted)]
}

// grow returns b with capacity for at least n elements. It grows by a
// quarter at least, so a run of growing merges reallocates only a
// logarithmic number of times, but no more: a request's Set is held while
// its upstreams answer (the hostile soak's heap, 1,500 requests per second,
// was half Set buffers when they doubled).
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

// Reset empties the set. It keeps its buffer for reuse, unless it exceeds
// 1<<20 elements, in which case it is dropped so that a pooled Set does not
// pin the memory of an exceptionally large result.
func (s *Set) Reset() {
	if cap(s.cur) > maxRetainedSetCap {
		s.cur = nil
	}
	s.cur = s.cur[:0]
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
