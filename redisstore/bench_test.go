package redisstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"numbers/cache"
)

// BenchmarkCacheGet measures a look-up in the second level of the cache on a
// real redis-server over loopback, for an entry of 20 numbers (hit) and a
// missing one, one caller at a time and from parallel callers (rueidis
// pipelines them); it reports the 50th and 99th percentile of one look-up.
func BenchmarkCacheGet(b *testing.B) {
	c, err := Open(Config{URL: srv.URL, Prefix: b.Name() + ":"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rc := c.Cache()
	now := time.Now()
	nums := make([]int64, 20)
	for i := range nums {
		nums[i] = int64(i) * 1009
	}
	rc.Put("http://u/hit", cache.Entry{Numbers: nums, ResponseTime: now, FreshUntil: now.Add(time.Hour), StaleUntil: now.Add(2 * time.Hour)}, true)
	rc.Wait()
	for _, url := range []string{"http://u/hit", "http://u/miss"} {
		for _, parallel := range []bool{false, true} {
			name := url[len("http://u/"):] + map[bool]string{false: "/serial", true: "/parallel"}[parallel]
			b.Run(name, func(b *testing.B) {
				var took []time.Duration
				collected := make(chan []time.Duration, 64) // RunParallel's goroutines, GOMAXPROCS of them
				get := func(local *[]time.Duration) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					start := time.Now()
					_, ok := rc.Get(ctx, url)
					*local = append(*local, time.Since(start))
					cancel()
					if ok != (url == "http://u/hit") {
						b.Errorf("%s: hit %v", url, ok)
					}
				}
				b.ResetTimer()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						var local []time.Duration
						for pb.Next() {
							get(&local)
						}
						collected <- local
					})
					close(collected)
					for local := range collected {
						took = append(took, local...)
					}
				} else {
					for range b.N {
						get(&took)
					}
				}
				b.StopTimer()
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2])/1e3, "p50-us")
				b.ReportMetric(float64(took[len(took)*99/100])/1e3, "p99-us")
			})
		}
	}
}
