package aggregate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want []int64
	}{
		{"nil", nil, nil},
		{"empty", []int64{}, []int64{}},
		{"one", []int64{7}, []int64{7}},
		{"all dups", []int64{3, 3, 3, 3}, []int64{3}},
		{"sorted", []int64{1, 2, 3}, []int64{1, 2, 3}},
		{"reversed with dups", []int64{5, 4, 4, 1, 5}, []int64{1, 4, 5}},
		{"negatives", []int64{-1, 3, -10, 0, -1}, []int64{-10, -1, 0, 3}},
		{"extremes", []int64{math.MaxInt64, 0, math.MinInt64, math.MaxInt64, math.MinInt64},
			[]int64{math.MinInt64, 0, math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := Normalize(in)
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if len(got) > 0 && &got[0] != &in[0] {
				t.Fatal("Normalize did not work in place")
			}
			in = slices.Clone(tt.in)
			if got := normalize(in, 0); !slices.Equal(got, tt.want) || (len(got) > 0 && &got[0] != &in[0]) {
				t.Fatalf("radix normalize(%v) = %v, want %v in place", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeRadixSizes checks the radix path against the oracle around
// the threshold and for long lists, over several value ranges (which decide
// the passes it skips and whether the result ends in the scratch buffer).
func TestNormalizeRadixSizes(t *testing.T) {
	ranges := []struct {
		name string
		gen  func(*rand.Rand) int64
	}{
		{"small with dups", func(r *rand.Rand) int64 { return r.Int64N(100) - 50 }},
		{"range1e9", func(r *rand.Rand) int64 { return r.Int64N(1e9) }},
		{"three low bytes: odd passes", func(r *rand.Rand) int64 { return r.Int64N(1 << 24) }},
		{"one high byte", func(r *rand.Rand) int64 { return r.Int64N(256) << 56 }},
		{"int64", func(r *rand.Rand) int64 { return int64(r.Uint64()) }},
	}
	for _, rg := range ranges {
		for _, n := range []int{radixThreshold - 1, radixThreshold, 3*radixThreshold + 7, 100_000} {
			t.Run(fmt.Sprintf("%s/%d", rg.name, n), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), 1))
				in := make([]int64, n)
				for i := range in {
					in[i] = rg.gen(r)
				}
				want := oracleUnion(in)
				if got := Normalize(slices.Clone(in)); !slices.Equal(got, want) {
					t.Fatalf("Normalize differs from the oracle (len %d, want %d)", len(got), len(want))
				}
			})
		}
	}
}

// mergeCases are pairs of sorted unique lists shared by the mergeInPlace
// and Set tests.
var mergeCases = []struct {
	name string
	a, b []int64
}{
	{"both nil", nil, nil},
	{"both empty", []int64{}, []int64{}},
	{"a empty", nil, []int64{1, 2}},
	{"b empty", []int64{1, 2}, nil},
	{"one each equal", []int64{4}, []int64{4}},
	{"identical", []int64{1, 2, 3}, []int64{1, 2, 3}},
	{"disjoint a first", []int64{1, 2}, []int64{3, 4}},
	{"disjoint b first", []int64{3, 4}, []int64{1, 2}},
	{"touching", []int64{1, 2}, []int64{2, 3}},
	{"interleaved", []int64{1, 3, 5, 7}, []int64{2, 4, 6, 8}},
	{"interleaved overlap", []int64{1, 2, 5, 9}, []int64{2, 3, 5, 10, 11}},
	{"subset", []int64{1, 2, 3, 4, 5}, []int64{2, 4}},
	{"negatives", []int64{-5, -3, 0}, []int64{-4, -3, 2}},
	{"extremes", []int64{math.MinInt64, 0}, []int64{-1, math.MaxInt64}},
	{"extremes both", []int64{math.MinInt64, math.MaxInt64}, []int64{math.MinInt64, math.MaxInt64}},
}

// merge returns the union of the sorted unique lists a and b, merged by
// mergeInPlace into a new slice that starts with a.
func merge(a, b []int64) []int64 {
	out := make([]int64, len(a)+len(b))
	copy(out, a)
	return out[:mergeInPlace(out, len(a), b)]
}

func TestMergeInPlace(t *testing.T) {
	for _, tt := range mergeCases {
		t.Run(tt.name, func(t *testing.T) {
			a, b := slices.Clone(tt.a), slices.Clone(tt.b)
			if got, want := merge(a, b), oracleUnion(tt.a, tt.b); !slices.Equal(got, want) {
				t.Fatalf("mergeInPlace(%v, %v) = %v, want %v", a, b, got, want)
			}
			if !slices.Equal(a, tt.a) || !slices.Equal(b, tt.b) {
				t.Fatal("mergeInPlace modified its inputs")
			}
		})
	}
}

func TestMergeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for n := range 300 {
		a := sortedUniques(r, r.IntN(n+1), -50, int64(n)+50)
		b := sortedUniques(r, r.IntN(n+1)/(1+n%3), -50, int64(n)+50)
		if got, want := merge(a, b), oracleUnion(a, b); !slices.Equal(got, want) {
			t.Fatalf("mergeInPlace(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}
