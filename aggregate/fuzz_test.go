package aggregate

import (
	"bytes"
	"slices"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	f.Add([]byte{0, 3, 1, 3, 2, 0xff, 0x80})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInts(data)
		want := oracleUnion(in)
		got := Normalize(slices.Clone(in))
		if !slices.Equal(got, want) {
			t.Fatalf("Normalize(%v) = %v, want %v", in, got, want)
		}
		// The radix path, on the input itself and on enough copies of it
		// (each shifted, to vary the bytes) to reach the real threshold.
		if got := normalize(slices.Clone(in), 0); !slices.Equal(got, want) {
			t.Fatalf("radix normalize(%v) = %v, want %v", in, got, want)
		}
		if len(in) == 0 {
			return
		}
		var long []int64
		for i := 0; len(long) < radixThreshold; i++ {
			for _, v := range in {
				long = append(long, v+int64(i%3)<<40)
			}
		}
		want = oracleUnion(long)
		if got := Normalize(slices.Clone(long)); !slices.Equal(got, want) {
			t.Fatalf("Normalize(%d copies of %v) differs from the oracle", len(long)/len(in), in)
		}
	})
}

// FuzzMerge splits the input into lists at every 0xAA byte, normalizes each
// with the oracle, and checks that a Set fed them in order, and mergeInPlace of
// the first two, agree with the oracle union.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{0, 1, 3, 5, 0xAA, 0, 2, 3, 4, 0xAA, 0, 0x80, 0x7f})
	f.Add([]byte{3, 1, 0, 0, 0, 0xAA, 3, 1, 0, 0, 0})
	f.Add([]byte{0xAA, 0xAA})
	f.Fuzz(func(t *testing.T, data []byte) {
		var lists [][]int64
		for _, part := range bytes.Split(data, []byte{0xAA}) {
			lists = append(lists, oracleUnion(decodeInts(part)))
		}
		var s Set
		for _, l := range lists {
			s.Add(l)
		}
		if want := oracleUnion(lists...); !slices.Equal(s.Numbers(), want) {
			t.Fatalf("Set of %v = %v, want %v", lists, s.Numbers(), want)
		}
		if len(lists) >= 2 {
			got := merge(lists[0], lists[1])
			if want := oracleUnion(lists[0], lists[1]); !slices.Equal(got, want) {
				t.Fatalf("mergeInPlace(%v, %v) = %v, want %v", lists[0], lists[1], got, want)
			}
		}
	})
}
