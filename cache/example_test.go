package cache_test

import (
	"fmt"
	"time"

	"numbers/cache"
)

func Example() {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	c := cache.New(cache.Config{Now: func() time.Time { return now }})

	// A live fetch answered in 20ms with "Cache-Control: max-age=60, stale-if-error=600".
	h := cache.Header{CacheControl: "max-age=60, stale-if-error=600", Date: "Fri, 02 Jan 2026 12:00:00 GMT"}
	fmt.Println("stored:", c.Store("http://10.0.0.5:8090/primes", []int64{2, 3, 5, 7}, h, now.Add(-20*time.Millisecond), now))

	// Within max-age: served without fetching.
	now = now.Add(30 * time.Second)
	nums, ok := c.Fresh("http://10.0.0.5:8090/primes")
	fmt.Println("fresh:", nums, ok)

	// Two minutes later it is stale; if the live fetch fails or is late, it may still be served.
	now = now.Add(2 * time.Minute)
	_, ok = c.Fresh("http://10.0.0.5:8090/primes")
	fmt.Println("fresh:", ok)
	nums, ok = c.Stale("http://10.0.0.5:8090/primes")
	fmt.Println("stale:", nums, ok)

	// no-store responses are never kept.
	fmt.Println("stored:", c.Store("http://10.0.0.6:8090/fibo", []int64{1, 2}, cache.Header{CacheControl: "no-store"}, now, now))
	fmt.Printf("%+v\n", c.Stats())
	// Output:
	// stored: true
	// fresh: [2 3 5 7] true
	// fresh: false
	// stale: [2 3 5 7] true
	// stored: false
	// {Hits:1 Misses:1 StaleHits:1 StaleMiss:0 Stores:1 Rejected:1 Evictions:0 Expired:0 SharedHits:0}
}
