// This file holds Set, the incremental merger, and its pool.

package aggregate

import "sync"

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

// grow returns b with capacity for at least n elements. It doubles, so a run
// of growing merges reallocates only a logarithmic number of times, but it
// does not overshoot maxRetainedSetCap when n fits under it, so that a
// result that could be kept by Reset is not dropped for the slack.
func grow(b []int64, n int) []int64 {
	c := max(n, 2*cap(b))
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
