package aggregate_test

import (
	"fmt"

	"numbers/aggregate"
)

func ExampleNormalize() {
	nums := []int64{5, 3, 5, -1, 3}
	fmt.Println(aggregate.Normalize(nums))
	// Output: [-1 3 5]
}

func ExampleMerge() {
	a := []int64{1, 3, 5}
	b := []int64{2, 3, 8}
	fmt.Println(aggregate.Merge(nil, a, b))
	// Output: [1 2 3 5 8]
}

func ExampleSet() {
	set := aggregate.AcquireSet()
	defer aggregate.ReleaseSet(set)

	// Upstream lists arrive unsorted and with repeats, one at a time.
	for _, upstream := range [][]int64{{13, 2, 3, 5, 2}, {21, 1, 1, 2, 3}, {}} {
		set.Add(aggregate.Normalize(upstream))
	}
	fmt.Println(set.Len(), set.Numbers())
	// Output: 6 [1 2 3 5 13 21]
}

func ExampleAppendJSON() {
	buf := aggregate.AppendJSON(nil, []int64{-7, 0, 42})
	fmt.Println(string(buf))
	buf = aggregate.AppendJSON(buf[:0], nil)
	fmt.Println(string(buf))
	// Output:
	// {"numbers":[-7,0,42]}
	// {"numbers":[]}
}

func ExampleAppendInt() {
	fmt.Println(string(aggregate.AppendInt([]byte("n="), -9223372036854775808)))
	// Output: n=-9223372036854775808
}
