package telemetry

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"numbers/cache"
	"numbers/jobs"
	"numbers/outcome"
	"numbers/overload"
	"numbers/redisstore"
	"numbers/source"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"
)

// scrape returns the parsed metric families the handler serves.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("metrics output does not parse as the Prometheus text format: %v", err)
	}
	values := map[string]float64{}
	for name, f := range families {
		for _, mt := range f.GetMetric() {
			key := name
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.Counter != nil:
				values[key] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				values[key] = mt.Gauge.GetValue()
			case mt.Histogram != nil:
				values[key+",count"] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return values
}

// request calls handle once for each path.
func request(handle fasthttp.RequestHandler, paths ...string) {
	for _, path := range paths {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		handle(&ctx)
	}
}

func TestMetricsRecordAndParse(t *testing.T) {
	m := New(500 * time.Millisecond)
	m.Upstream(outcome.OK)
	m.Upstream(outcome.OK)
	m.Upstream(outcome.Timeout)
	m.Answered(120*time.Millisecond, true, false)
	m.Answered(3*time.Millisecond, false, false)
	m.Fetched(10 * time.Millisecond)
	m.WatchInFlight(func() int64 { return 7 })
	m.WatchOverload(func() float64 { return 0.5 }, func() float64 { return 0.75 }, func() float64 { return 0.25 }, func() time.Duration { return 30 * time.Millisecond }, func() time.Duration { return 12 * time.Millisecond })
	m.Refused(overload.Queue)
	m.Refused(overload.Queue)
	m.Refused(overload.Deadline)
	m.Refused(overload.CPU)
	c := cache.New(cache.Config{})
	c.Store("http://a/", []int64{1, 2}, cache.Header{CacheControl: "max-age=60"}, time.Now(), time.Now())
	m.WatchCache(c)
	var st source.Stats
	st.Fetches.Add(5)
	st.Coalesced.Add(4)
	st.LateStored.Add(3)
	st.LateCancelled.Add(2)
	m.WatchSource(&st)

	handle := m.Wrap(func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/numbers" {
			ctx.SetStatusCode(200)
			return
		}
		ctx.SetStatusCode(418)
	})
	request(handle, "/numbers", "/numbers", "/openapi.json", "/nope")

	got := scrape(t, m)
	want := map[string]float64{
		"numbers_upstreams_total,outcome=ok":               2,
		"numbers_upstreams_total,outcome=timeout":          1,
		"numbers_upstreams_total,outcome=invalid":          0,
		"numbers_partial_responses_total":                  1,
		"numbers_late_responses_total":                     0,
		"numbers_response_seconds,count":                   2,
		"numbers_upstream_fetch_seconds,count":             1,
		"numbers_requests_total,route=/numbers,status=200": 2,
		"numbers_requests_total,route=other,status=418":    1,
		"numbers_in_flight_requests":                       7,
		"numbers_shed_share":                               0.25,
		"numbers_cpu_pressure":                             0.5,
		"numbers_cpu_busy":                                 0.75,
		"numbers_answer_delay_seconds":                     0.012,
		"numbers_caller_lag_seconds":                       0.03,
		"numbers_shed_total,reason=queue":                  2,
		"numbers_shed_total,reason=deadline":               1,
		"numbers_shed_total,reason=in_flight":              0,
		"numbers_shed_total,reason=cpu":                    1,
		"numbers_cache_entries":                            1,
		"numbers_cache_max_bytes":                          cache.DefaultMaxBytes,
		"numbers_budget_seconds":                           0.5,
		"numbers_cache_evictions_total":                    0,
		"numbers_upstream_requests_total":                  5,
		"numbers_coalesced_total":                          4,
		"numbers_late_stored_total":                        3,
		"numbers_late_cancelled_total":                     2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if k := "numbers_requests_total,route=/openapi.json,status=418"; got[k] != 1 {
		t.Errorf("%s = %v, want 1", k, got[k])
	}
	if got["numbers_cache_bytes"] <= 0 {
		t.Errorf("numbers_cache_bytes = %v with one entry, want > 0", got["numbers_cache_bytes"])
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing (go_goroutines)")
	}
}

func TestBudgetBucketsDenseAroundBudget(t *testing.T) {
	for _, budget := range []time.Duration{10 * time.Millisecond, 500 * time.Millisecond, 5 * time.Second} {
		b := BudgetBuckets(budget)
		s := budget.Seconds()
		near := 0
		for i, v := range b {
			if i > 0 && v <= b[i-1] {
				t.Fatalf("budget %v: buckets not increasing: %v", budget, b)
			}
			if v >= 0.9*s && v <= 1.05*s {
				near++
			}
		}
		if near < 5 {
			t.Errorf("budget %v: %d buckets within [0.9, 1.05] x budget, want at least 5: %v", budget, near, b)
		}
		if !contains(b, s) {
			t.Errorf("budget %v: no bucket at the budget itself: %v", budget, b)
		}
	}
}

func contains(b []float64, v float64) bool {
	for _, x := range b {
		if x == v {
			return true
		}
	}
	return false
}

func BenchmarkRecord(b *testing.B) {
	m := New(500 * time.Millisecond)
	handle := m.Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/numbers")
	b.ReportAllocs()
	for b.Loop() {
		for range 4 {
			m.Upstream(outcome.OK)
		}
		m.Answered(time.Millisecond, false, false)
		handle(&ctx)
	}
}

func TestJobMetrics(t *testing.T) {
	m := New(500 * time.Millisecond)
	var hub jobs.HubStats
	hub.Watchers.Add(3)
	hub.Events.Add(40)
	hub.Dropped.Add(2)
	hub.Disconnected.Add(1)
	m.WatchJobs(func() jobs.StoreStats { return jobs.StoreStats{Jobs: [4]int{4, 5, 6, 0}, Bytes: 1000} }, &hub)
	handle := m.Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(202) })
	request(handle, "/jobs", "/jobs/abc", "/jobs/abc/events", "/jobsx")
	got := scrape(t, m)
	for _, w := range []struct {
		metric string
		value  float64
	}{
		{"numbers_jobs,status=running", 4}, {"numbers_jobs,status=done", 5}, {"numbers_jobs,status=cancelled", 6},
		{"numbers_jobs_bytes", 1000}, {"numbers_job_watchers", 3}, {"numbers_job_events_sent_total", 40},
		{"numbers_job_watchers_dropped_total,reason=stalled", 2},
		{"numbers_job_watchers_dropped_total,reason=disconnected", 1},
		{"numbers_requests_total,route=/jobs,status=202", 3}, {"numbers_requests_total,route=other,status=202", 1},
	} {
		if got[w.metric] != w.value {
			t.Errorf("%s = %v; want %v", w.metric, got[w.metric], w.value)
		}
	}
}

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
