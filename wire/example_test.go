package wire_test

import (
	"fmt"

	"numbers/wire"
)

func ExampleAppendJSON() {
	buf := wire.AppendJSON(nil, []int64{-7, 0, 42})
	fmt.Println(string(buf))
	buf = wire.AppendJSON(buf[:0], nil)
	fmt.Println(string(buf))
	// Output:
	// {"numbers":[-7,0,42]}
	// {"numbers":[]}
}

func ExampleEncodedSizeHint() {
	nums := []int64{-100, 5, 7, 1000}
	buf := make([]byte, 0, wire.EncodedSizeHint(nums))
	before := &buf[:1][0]
	buf = wire.AppendJSON(buf, nums)
	fmt.Println(string(buf), "reallocated:", &buf[0] != before)
	// Output: {"numbers":[-100,5,7,1000]} reallocated: false
}
