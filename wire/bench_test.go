package wire

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// encodeInputs are the encoder's benchmark data: sorted unique numbers from
// [0, 1e9) (mostly 9 digits, like typical upstream data) and from the whole
// int64 range (mostly 19 digits, half negative).
func encodeInputs(n int) []struct {
	name string
	nums []int64
} {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	return []struct {
		name string
		nums []int64
	}{
		{"range1e9", spread(r, n, 0, 1e9-1)},
		{"int64", spread(r, n, math.MinInt64, math.MaxInt64)},
	}
}

// BenchmarkAppendJSON encodes into a reused buffer, as the handler does with
// the response's body buffer; BenchmarkAppendJSONStrconv is the naive reference.
func BenchmarkAppendJSON(b *testing.B) {
	benchEncode(b, AppendJSON)
}

func BenchmarkAppendJSONStrconv(b *testing.B) {
	benchEncode(b, appendJSONStrconv)
}

func benchEncode(b *testing.B, encode func([]byte, []int64) []byte) {
	for _, n := range []int{1000, 1_000_000} {
		for _, in := range encodeInputs(n) {
			b.Run(fmt.Sprintf("%s/%d", in.name, n), func(b *testing.B) {
				b.ReportAllocs()
				buf := encode(nil, in.nums)
				b.SetBytes(int64(len(buf)))
				for b.Loop() {
					buf = encode(buf[:0], in.nums)
				}
				// ns/num: the time per number encoded.
				b.ReportMetric(float64(b.Elapsed())/float64(b.N*n), "ns/num")
			})
		}
	}
}

// BenchmarkAppendInt compares the formatter with strconv.AppendInt, one
// number at a time over the same data.
func BenchmarkAppendInt(b *testing.B) {
	for _, in := range encodeInputs(1000) {
		for _, impl := range []struct {
			name string
			fn   func([]byte, int64) []byte
		}{
			{"fast", appendInt},
			{"strconv", func(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }},
		} {
			b.Run(in.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 32)
				for b.Loop() {
					for _, v := range in.nums {
						buf = impl.fn(buf[:0], v)
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N*len(in.nums)), "ns/num")
			})
		}
	}
}

// decodeBody returns an upstream body of n numbers, unsorted, of either sign.
func decodeBody(n int) []byte {
	nums := make([]int64, n)
	for i := range nums {
		nums[i] = int64(i*7919%1000003 - 500000)
	}
	return AppendJSON(nil, nums)
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{20, 1000, 100000} {
		body := decodeBody(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
