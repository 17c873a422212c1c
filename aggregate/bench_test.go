package aggregate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// reportPerNumber adds an ns/num metric: time per input number.
func reportPerNumber(b *testing.B, numbers int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(numbers), "ns/num")
}

// mergeInputs returns lists sorted unique lists of n numbers each, drawn
// from [0, 1e9), so that lists interleave randomly and overlap a little.
func mergeInputs(lists, n int) [][]int64 {
	r := rand.New(rand.NewPCG(uint64(lists), uint64(n)))
	out := make([][]int64, lists)
	for i := range out {
		out[i] = sortedUniques(r, n, 0, 1e9)
	}
	return out
}

var mergeSizes = []struct{ lists, n int }{{4, 1000}, {4, 250_000}}

// BenchmarkSetAdd merges lists into a warm Set: the service's hot path.
func BenchmarkSetAdd(b *testing.B) {
	for _, sz := range mergeSizes {
		in := mergeInputs(sz.lists, sz.n)
		b.Run(fmt.Sprintf("%dx%d", sz.lists, sz.n), func(b *testing.B) {
			b.ReportAllocs()
			var s Set
			// Warm up: two rounds, because the buffers swap roles, so
			// each must grow to the largest merge once.
			for range 2 {
				s.Reset()
				for _, l := range in {
					s.Add(l)
				}
			}
			for b.Loop() {
				s.Reset()
				for _, l := range in {
					s.Add(l)
				}
			}
			reportPerNumber(b, sz.lists*sz.n)
		})
	}
}

// BenchmarkNaiveMerge is the reference for BenchmarkSetAdd: append all,
// slices.Sort, slices.Compact, into a reused buffer.
func BenchmarkNaiveMerge(b *testing.B) {
	for _, sz := range mergeSizes {
		in := mergeInputs(sz.lists, sz.n)
		b.Run(fmt.Sprintf("%dx%d", sz.lists, sz.n), func(b *testing.B) {
			b.ReportAllocs()
			var dst []int64
			for b.Loop() {
				dst = naiveMerge(dst, in...)
			}
			reportPerNumber(b, sz.lists*sz.n)
		})
	}
}

// BenchmarkMerge merges two lists of n numbers once, with mergeInPlace, the
// merge behind Set.Add (the copy of the first list into the buffer
// included).
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		in := mergeInputs(2, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]int64, 2*n)
			for b.Loop() {
				copy(dst, in[0])
				mergeInPlace(dst, n, in[1])
			}
			reportPerNumber(b, 2*n)
		})
	}
}

// BenchmarkCopy is the memory-speed baseline for BenchmarkMerge: copying the
// same two lists into the same output buffer.
func BenchmarkCopy(b *testing.B) {
	const n = 1_000_000
	in := mergeInputs(2, n)
	b.ReportAllocs()
	dst := make([]int64, 2*n)
	for b.Loop() {
		copy(dst[copy(dst, in[0]):], in[1])
	}
	reportPerNumber(b, 2*n)
}

// BenchmarkNormalize sorts and deduplicates one unsorted upstream list, with
// values from [0, 1e9) (typical upstream data) and from the whole int64 range.
func BenchmarkNormalize(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		for _, dist := range []struct {
			name string
			gen  func(*rand.Rand) int64
		}{
			{"range1e9", func(r *rand.Rand) int64 { return r.Int64N(1e9) }},
			{"int64", func(r *rand.Rand) int64 { return int64(r.Uint64()) }},
		} {
			r := rand.New(rand.NewPCG(5, uint64(n)))
			src := make([]int64, n)
			for i := range src {
				src[i] = dist.gen(r)
			}
			b.Run(fmt.Sprintf("%s/%d", dist.name, n), func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]int64, n)
				for b.Loop() {
					copy(buf, src)
					Normalize(buf)
				}
				reportPerNumber(b, n)
			})
		}
	}
}

// BenchmarkNormalizeSort compares Normalize's two sorts over the same data
// (values in [0, 1e9)): the radix sort and slices.Sort, each forced by the
// threshold. It is how radixThreshold was chosen.
func BenchmarkNormalizeSort(b *testing.B) {
	for _, n := range []int{64, 128, 256, 1000, 2048, 4096, 100_000, 1_000_000} {
		r := rand.New(rand.NewPCG(5, uint64(n)))
		src := make([]int64, n)
		for i := range src {
			src[i] = r.Int64N(1e9)
		}
		for _, impl := range []struct {
			name      string
			threshold int
		}{{"radix", 0}, {"slices.Sort", math.MaxInt}} {
			b.Run(fmt.Sprintf("%d/%s", n, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]int64, n)
				for b.Loop() {
					copy(buf, src)
					normalize(buf, impl.threshold)
				}
				reportPerNumber(b, n)
			})
		}
	}
}
