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
