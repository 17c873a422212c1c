package cache

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func BenchmarkFreshness(b *testing.B) {
	for _, n := range []int{1, 100, 10000} { // directives in Cache-Control
		cc := strings.Repeat("x-ext=1, ", n-1) + "max-age=60, stale-if-error=600"
		h := Header{CacheControl: cc, Date: httpDate(t0), Age: "3"}
		b.Run("directives="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Freshness(h, t0, t0)
			}
		})
	}
}

func BenchmarkStoreFresh(b *testing.B) {
	for _, n := range []int{100, 10000} { // distinct URLs
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "http://10.0.0.5:8090/n" + strconv.Itoa(i)
		}
		nums := make([]int64, 100)
		h := Header{CacheControl: "max-age=60", Date: httpDate(t0)}
		c := New(Config{Now: func() time.Time { return t0 }})
		b.Run("Store/urls="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Store(keys[i%n], nums, h, t0, t0)
				i++
			}
		})
		b.Run("Fresh/urls="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Fresh(keys[i%n])
				i++
			}
		})
	}
}
