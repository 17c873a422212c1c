package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"numbers/redisstore"
)

// redisOps are the operations of redisstore, with metrics made up front.
var redisOps = [...]string{redisstore.OpCacheGet, redisstore.OpCachePut, redisstore.OpJobRead,
	redisstore.OpJobWrite, redisstore.OpJobWatch, redisstore.OpLease}

// Redis records the commands to the Redis that -redis names: their errors
// and latency, by operation. Make it with WatchRedis; its Observe is
// redisstore.Config.Observe.
type Redis struct {
	errors  [len(redisOps)]prometheus.Counter
	latency [len(redisOps)]prometheus.Observer
}

// WatchRedis exports the Redis that replicas share (-redis): whether its
// last command reached it (up()), each command's errors and latency (through
// the returned Redis's Observe), and the look-ups of the second level of the
// cache, from st.
func (m *Metrics) WatchRedis(up func() bool, st *redisstore.CacheStats) *Redis {
	r := &Redis{}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "numbers_redis_errors_total",
		Help: "Redis commands that failed to reach Redis or to answer in time, by operation (cache_get, cache_put, job_read, job_write, job_watch, lease).",
	}, []string{"op"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "numbers_redis_command_seconds",
		Help:    "Duration of Redis commands, by operation (job_watch, which blocks, is not timed).",
		Buckets: prometheus.ExponentialBucketsRange(0.00005, 1, 16),
	}, []string{"op"})
	for i, op := range redisOps {
		r.errors[i] = errs.WithLabelValues(op)
		r.latency[i] = lat.WithLabelValues(op)
	}
	m.registry.MustRegister(errs, lat)
	m.gauge("numbers_redis_up", "1 while the last Redis command reached Redis in time, else 0.", func() float64 {
		if up() {
			return 1
		}
		return 0
	})
	for _, l := range []struct {
		result string
		n      func() uint64
	}{{"hit", st.Hits.Load}, {"miss", st.Misses.Load}, {"error", st.Errors.Load}, {"skipped", st.Skipped.Load}} {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "numbers_redis_cache_lookups_total",
			Help: "Look-ups in the second level of the cache (Redis), by result: hit, miss, error (failed or too slow: a miss), " +
				"skipped (not made for a second after an error: a miss).",
			ConstLabels: prometheus.Labels{"result": l.result},
		}, func() float64 { return float64(l.n()) }))
	}
	return r
}

// Observe records one Redis command (redisstore.Config.Observe).
func (r *Redis) Observe(op string, took time.Duration, err error) {
	for i, o := range redisOps {
		if o != op {
			continue
		}
		if err != nil {
			r.errors[i].Inc()
		} else if op != redisstore.OpJobWatch {
			r.latency[i].Observe(took.Seconds())
		}
		return
	}
}
