package telemetry

import (
	"errors"
	"testing"
	"time"

	"numbers/redisstore"
)

func TestRedisMetrics(t *testing.T) {
	m := New(500 * time.Millisecond)
	var st redisstore.CacheStats
	st.Hits.Add(3)
	st.Skipped.Add(2)
	up := true
	r := m.WatchRedis(func() bool { return up }, &st)
	r.Observe(redisstore.OpCacheGet, time.Millisecond, nil)
	r.Observe(redisstore.OpCacheGet, 0, errors.New("down"))
	r.Observe(redisstore.OpJobWatch, time.Second, nil) // blocks: not timed
	r.Observe("unknown", time.Second, errors.New("ignored"))
	up = false
	got := scrape(t, m)
	for metric, want := range map[string]float64{
		"numbers_redis_up":                        0,
		"numbers_redis_errors_total,op=cache_get": 1, "numbers_redis_errors_total,op=job_write": 0,
		"numbers_redis_command_seconds,op=cache_get,count": 1, "numbers_redis_command_seconds,op=job_watch,count": 0,
		"numbers_redis_cache_lookups_total,result=hit": 3, "numbers_redis_cache_lookups_total,result=skipped": 2,
	} {
		if got[metric] != want {
			t.Errorf("%s = %v; want %v", metric, got[metric], want)
		}
	}
}
