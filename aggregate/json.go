// This file holds the JSON encoder for response bodies.

package aggregate

import "slices"

const (
	jsonPrefix = `{"numbers":[`
	jsonSuffix = `]}`
)

// EncodedSizeHint returns the capacity AppendJSON needs for nums. For a
// sorted list it is an upper bound that is tight for typical data (it
// assumes every number is as wide as the widest end of the list, which costs
// O(1) to find); for an unsorted list it is only an estimate, and AppendJSON
// grows again if it falls short.
func EncodedSizeHint(nums []int64) int {
	n := len(jsonPrefix) + len(jsonSuffix)
	if len(nums) == 0 {
		return n
	}
	w := max(intLen(nums[0]), intLen(nums[len(nums)-1]))
	return n + len(nums)*(w+1) - 1
}

// AppendJSON appends exactly {"numbers":[1,2,3]} for nums to dst (compact,
// no spaces, {"numbers":[]} for an empty or nil list) and returns the
// extended slice. The numbers are written in the order given; the output is
// identical to encoding/json's for a struct with one []int64 field tagged
// "numbers" holding a non-nil slice. It grows dst once, by
// [EncodedSizeHint], when nums is sorted.
func AppendJSON(dst []byte, nums []int64) []byte {
	dst = slices.Grow(dst, EncodedSizeHint(nums))
	dst = append(dst, jsonPrefix...)
	for i, v := range nums {
		u := uint64(v)
		neg := b2i(v < 0)
		if v < 0 {
			u = -u
		}
		sep := b2i(i > 0)
		n := len(dst)
		end := n + sep + neg + decimalLen(u)
		if end > cap(dst) {
			// Only when nums is unsorted and the hint fell short: reserve
			// room for the rest at the widest possible width.
			dst = slices.Grow(dst, (len(nums)-i)*(maxIntLen+1)+len(jsonSuffix))
		}
		dst = dst[:end]
		dst[n] = ','     // overwritten below when there is no separator
		dst[n+sep] = '-' // overwritten by the first digit when v >= 0
		putDigits(dst[n+sep+neg:end], u)
	}
	return append(dst, jsonSuffix...)
}
