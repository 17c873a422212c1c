package wire

import (
	"encoding/json"
	"math"
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

// FuzzRoundTrip checks that Decode reads back exactly the list AppendJSON
// wrote, in its order, for any list: unsorted, repeated, negative, at the
// ends of int64. The sorted unique form of the list, which the handler
// encodes and which takes the encoder's run loops, round-trips too.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range numsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nums := fuzzNums(data)
		for _, list := range [][]int64{nums, sortedUnique(slices.Clone(nums))} {
			body := AppendJSON(nil, list)
			got, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode(%s) failed: %v", body, err)
			}
			if got == nil || !slices.Equal(got, list) {
				t.Fatalf("Decode(AppendJSON(%v)) = %v", list, got)
			}
		}
	})
}

// TestFuzzNums checks that the fuzz input builder reaches what it promises.
func TestFuzzNums(t *testing.T) {
	const lo, hi = math.MinInt64, math.MaxInt64
	want := [][]int64{
		nil,
		{0, 1, 2, -1},
		{lo, hi, lo, lo, hi},
		{lo, hi},
		{655417599, 655417599, 10000},
		{1e18 - 1, -(1e18 - 1), 1e8 + 1, 1, 1},
	}
	for i, seed := range numsSeeds {
		if got := fuzzNums(seed); !slices.Equal(got, want[i]) {
			t.Errorf("fuzzNums(%v) = %v, want %v", seed, got, want[i])
		}
	}
	// A value cut short ends the list.
	if got := fuzzNums([]byte{3, 5, 6, 1, 2}); !slices.Equal(got, []int64{5}) {
		t.Errorf("fuzzNums of a cut value = %v, want [5]", got)
	}
}
