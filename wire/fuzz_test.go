package wire

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
)

// FuzzAppendJSON compares the encoder with encoding/json on the same slice
// and the integer formatter with strconv.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range numsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nums := fuzzNums(data)
		if nums == nil {
			nums = []int64{} // encoding/json writes null for nil
		}
		want, err := json.Marshal(struct {
			Numbers []int64 `json:"numbers"`
		}{nums})
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSON([]byte("prefix"), nums); string(got) != "prefix"+string(want) {
			t.Fatalf("AppendJSON(%v) = %s, want %s", nums, got, want)
		}
		for _, v := range nums {
			if got, want := string(appendInt(nil, v)), strconv.FormatInt(v, 10); got != want {
				t.Fatalf("appendInt(%d) = %s, want %s", v, got, want)
			}
		}
		sorted := sortedUnique(slices.Clone(nums))
		if n, hint := len(AppendJSON(nil, sorted)), EncodedSizeHint(sorted); n > hint {
			t.Fatalf("sorted %v: encoded %d bytes > hint %d", sorted, n, hint)
		}
	})
}
