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
