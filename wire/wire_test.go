package wire

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want string
	}{
		{"nil", nil, `{"numbers":[]}`},
		{"empty", []int64{}, `{"numbers":[]}`},
		{"one", []int64{7}, `{"numbers":[7]}`},
		{"zero", []int64{0}, `{"numbers":[0]}`},
		{"several", []int64{1, 2, 3}, `{"numbers":[1,2,3]}`},
		{"negatives", []int64{-10, -1, 0, 9}, `{"numbers":[-10,-1,0,9]}`},
		{"extremes", []int64{math.MinInt64, math.MaxInt64},
			`{"numbers":[-9223372036854775808,9223372036854775807]}`},
		{"unsorted widths", []int64{1, math.MinInt64, 22, math.MaxInt64, 0},
			`{"numbers":[1,-9223372036854775808,22,9223372036854775807,0]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendJSON(nil, tt.in)); got != tt.want {
				t.Fatalf("AppendJSON(%v) = %s, want %s", tt.in, got, tt.want)
			}
			// Appends after existing content, in a buffer too small for it.
			if got := string(AppendJSON([]byte("x"), tt.in)); got != "x"+tt.want {
				t.Fatalf("AppendJSON after prefix = %s", got)
			}
		})
	}
}

func TestAppendJSONGrowsOnceForSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, nums := range [][]int64{
		spread(r, 1000, 0, 1e9-1),
		spread(r, 1000, -1e6, 1e3),
		spread(r, 1000, math.MinInt64, math.MaxInt64),
		{math.MinInt64},
		{},
	} {
		hint := EncodedSizeHint(nums)
		out := AppendJSON(nil, nums)
		if len(out) > hint {
			t.Fatalf("encoded %d bytes, hint %d", len(out), hint)
		}
		buf := make([]byte, 0, hint)
		if n := testing.AllocsPerRun(10, func() { buf = AppendJSON(buf[:0], nums) }); n != 0 {
			t.Fatalf("AppendJSON into a hint-sized buffer allocated %v times", n)
		}
	}
}

// TestAppendInt checks the formatter (decimalLen, putDigits, intLen) on
// every digit count and sign boundary.
func TestAppendInt(t *testing.T) {
	vals := []int64{0, 1, -1, 9, 10, 11, 99, 100, 101, -99, -100, 12345678, 99999999,
		100000000, 123456789, -123456789, 1e15, 1e18 - 1, 1e18, math.MaxInt64, math.MinInt64,
		math.MinInt64 + 1, math.MaxInt32, math.MinInt32, math.MaxUint32}
	for p := int64(1); p <= 1e18; p *= 10 {
		vals = append(vals, p-1, p, p+1, -p+1, -p, -p-1)
	}
	for _, v := range vals {
		t.Run(strconv.FormatInt(v, 10), func(t *testing.T) {
			want := strconv.FormatInt(v, 10)
			if got := string(appendInt(nil, v)); got != want {
				t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
			}
			if got := string(appendInt([]byte("ab"), v)); got != "ab"+want {
				t.Fatalf("appendInt after prefix = %q", got)
			}
			if got := intLen(v); got != len(want) {
				t.Fatalf("intLen(%d) = %d, want %d", v, got, len(want))
			}
		})
	}
}

func TestDecimalLenAllPowers(t *testing.T) {
	for p := uint64(1); p <= 1e19; p *= 10 {
		for _, u := range []uint64{p - 1, p, p + 1} {
			if got, want := decimalLen(u), len(strconv.FormatUint(u, 10)); got != want {
				t.Fatalf("decimalLen(%d) = %d, want %d", u, got, want)
			}
		}
		if p == 1e19 {
			break
		}
	}
	if got := decimalLen(math.MaxUint64); got != 20 {
		t.Fatalf("decimalLen(MaxUint64) = %d, want 20", got)
	}
}

// TestAppendJSONRuns covers every sign and digit count, alone, in sorted
// runs of varying length, and unsorted, against the strconv reference, with
// buffers of every capacity near the needed size (which moves where the
// encoder switches from its wide stores to exact ones).
func TestAppendJSONRuns(t *testing.T) {
	var edges []int64
	for p := int64(1); p <= 1e18; p *= 10 {
		edges = append(edges, p-1, p, p+1, 2*p, -p+1, -p, -p-1, -2*p)
	}
	edges = append(edges, math.MaxInt64, math.MaxInt64-1, math.MinInt64, math.MinInt64+1, 0)
	sorted := sortedUnique(slices.Clone(edges))
	r := rand.New(rand.NewPCG(5, 6))
	shuffled := slices.Clone(edges)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	lists := map[string][]int64{"sorted edges": sorted, "shuffled edges": shuffled}
	for _, v := range sorted {
		lists["alone "+strconv.FormatInt(v, 10)] = []int64{v}
	}
	for i := 0; i+3 <= len(sorted); i++ {
		lists["window "+strconv.Itoa(i)] = sorted[i : i+3]
	}
	for name, nums := range lists {
		t.Run(name, func(t *testing.T) {
			want := string(appendJSONStrconv(nil, nums))
			for extra := -len(want); extra <= encodeSlack+2; extra++ {
				dst := make([]byte, 1, max(1, len(want)+1+extra))
				if got := string(AppendJSON(dst, nums)); got[1:] != want {
					t.Fatalf("cap %d: AppendJSON = %s, want %s", cap(dst), got[1:], want)
				}
			}
		})
	}
}
