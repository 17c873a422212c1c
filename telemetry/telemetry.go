// Package telemetry keeps the service's Prometheus metrics: requests by route
// and status, response times with buckets dense around the budget, upstream
// fetches by outcome and their latency, partial and late answers, requests in
// flight, cache, coalescing, admission and shedding, late-answer traces, and
// the Go runtime's own metrics. Every metric the service exports is defined
// here.
//
// Recording is lock-free (atomic adds on metrics created up front), so the
// request path pays a few nanoseconds per event. The registry is exposed on
// the admin listener, never the public one.
package telemetry

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"numbers/cache"
	"numbers/forensics"
	"numbers/jobs"
	"numbers/outcome"
	"numbers/overload"
	"numbers/source"
)

// routes are the route labels; any other path is counted as "other", so that
// callers cannot grow the label set.
var routes = [...]string{"/numbers", "/healthz", "/readyz", "/openapi.json", "/jobs", "other"}

// statuses are the status codes with a counter made up front; others are
// looked up by label on use.
var statuses = [...]int{200, 400, 404, 405, 503}

// Metrics records what the service does. Create it with New.
type Metrics struct {
	registry *prometheus.Registry

	requests     *prometheus.CounterVec
	hot          [len(routes)][len(statuses)]prometheus.Counter
	responseTime prometheus.Histogram
	upstreams    [outcome.Count]prometheus.Counter
	fetchTime    prometheus.Histogram
	partial      prometheus.Counter
	late         prometheus.Counter
	shed         [overload.ReasonCount]prometheus.Counter // by overload.Reason
}

// New returns Metrics whose response-time buckets are dense around budget.
func New(budget time.Duration) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "numbers_requests_total",
		Help: "Requests answered, by route and status code.",
	}, []string{"route", "status"})
	for r, route := range routes {
		for s, status := range statuses {
			m.hot[r][s] = m.requests.WithLabelValues(route, strconv.Itoa(status))
		}
	}
	m.responseTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "numbers_response_seconds",
		Help:    "Time from the arrival of a /numbers request to its answer being ready.",
		Buckets: BudgetBuckets(budget),
	})
	upstreams := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "numbers_upstreams_total",
		Help: "Upstream URLs of answered requests, by outcome (ok, cached, stale, failed, denied, timeout, invalid, ejected).",
	}, []string{"outcome"})
	for o := range outcome.Count {
		m.upstreams[o] = upstreams.WithLabelValues(o.String())
	}
	m.fetchTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "numbers_upstream_fetch_seconds",
		Help:    "Duration of live upstream fetches, successful or not.",
		Buckets: prometheus.ExponentialBucketsRange(0.0005, 10, 20),
	})
	m.partial = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "numbers_partial_responses_total",
		Help: "Answers to which at least one valid upstream did not contribute fresh data.",
	})
	m.late = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "numbers_late_responses_total",
		Help: "Answers ready after the budget. Must stay 0.",
	})
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "numbers_shed_total",
		Help: "/numbers requests refused with 503 as they arrived, before any work started, by reason (in_flight, queue, cpu, deadline).",
	}, []string{"reason"})
	for _, r := range overload.Reasons {
		m.shed[r] = shed.WithLabelValues(r.String())
	}
	m.registry.MustRegister(m.requests, m.responseTime, upstreams, m.fetchTime, m.partial, m.late, shed)
	m.gauge("numbers_budget_seconds", "The budget (-budget) every /numbers answer must be ready within.",
		func() float64 { return budget.Seconds() })
	return m
}

// BudgetBuckets returns response-time buckets in seconds: coarse below a
// tenth of the budget, dense from half the budget to just past it.
func BudgetBuckets(budget time.Duration) []float64 {
	b := budget.Seconds()
	var out []float64
	for _, v := range []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025} {
		if v < 0.1*b {
			out = append(out, v)
		}
	}
	for _, f := range []float64{0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1, 1.01, 1.05, 1.25, 2} {
		out = append(out, f*b)
	}
	return out
}

// Upstream counts one upstream's outcome (handler.Observer).
func (m *Metrics) Upstream(o outcome.Outcome) { m.upstreams[o].Inc() }

// Answered records one /numbers answer (handler.Observer).
func (m *Metrics) Answered(elapsed time.Duration, partial, late bool) {
	m.responseTime.Observe(elapsed.Seconds())
	if partial {
		m.partial.Inc()
	}
	if late {
		m.late.Inc()
	}
}

// Refused counts one /numbers request refused with 503 before any work
// started (handler.Observer).
func (m *Metrics) Refused(reason overload.Reason) {
	if int(reason) < len(m.shed) && m.shed[reason] != nil {
		m.shed[reason].Inc()
	}
}

// Fetched records the duration of one live upstream fetch.
func (m *Metrics) Fetched(d time.Duration) { m.fetchTime.Observe(d.Seconds()) }

// WatchCache exports the size of the upstream cache, its bound and its
// evictions, read at each scrape.
func (m *Metrics) WatchCache(c *cache.Cache) {
	m.gauge("numbers_cache_bytes", "Bytes held by the upstream cache.", func() float64 { return float64(c.Bytes()) })
	m.gauge("numbers_cache_entries", "Entries in the upstream cache.", func() float64 { return float64(c.Len()) })
	m.gauge("numbers_cache_max_bytes", "Upper bound on the bytes the upstream cache holds (-cache-bytes).",
		func() float64 { return float64(c.MaxBytes()) })
	m.counter("numbers_cache_evictions_total", "Cache entries evicted to stay within -cache-bytes.",
		func() float64 { return float64(c.Stats().Evictions) })
}

// WatchSource exports the counters of the source: live fetches, coalescing
// and background completion.
func (m *Metrics) WatchSource(st *source.Stats) {
	m.counter("numbers_upstream_requests_total", "Live upstream fetches started (coalesced callers share one).",
		func() float64 { return float64(st.Fetches.Load()) })
	m.counter("numbers_coalesced_total", "Callers that shared another request's upstream fetch.",
		func() float64 { return float64(st.Coalesced.Load()) })
	m.counter("numbers_late_stored_total", "Fetches finished in the background after their answer was sent, and cached.",
		func() float64 { return float64(st.LateStored.Load()) })
	m.counter("numbers_late_cancelled_total", "Fetches cut when their caller stopped waiting because max-background places were all taken.",
		func() float64 { return float64(st.LateCancelled.Load()) })
}

// WatchOverload exports what decides admission and the answer time: the
// machine's CPU stall and busy shares (pressure.Monitor), the share of
// /numbers requests refused because the CPUs are saturated
// (overload.Controller.Share), the callers' lag in reading their answers
// (overload.Controller.Lag), and what the planner keeps back for the
// caller's delay (deadline.Planner.Delay).
func (m *Metrics) WatchOverload(stall, busy, share func() float64, lag, delay func() time.Duration) {
	m.gauge("numbers_cpu_pressure", "The machine's CPU pressure: the share of the time some task waited for a CPU (Linux PSI \"some\", smoothed over about a second); 0 where the kernel does not say.", stall)
	m.gauge("numbers_cpu_busy", "The share of the machine's CPU time spent running tasks that are not niced (/proc/stat, smoothed over about a second).", busy)
	m.gauge("numbers_shed_share", "Share of /numbers requests refused as they arrive because the CPUs are busier than -busy-limit.", share)
	m.gauge("numbers_caller_lag_seconds", "How long answers already sent wait, on average, unread by callers on this machine: the kernel's count of their unread connections over the rate of requests; measured while the CPUs are at least half as busy as -busy-limit, 0 otherwise.",
		func() float64 { return lag().Seconds() })
	m.gauge("numbers_answer_delay_seconds", "What the planner keeps back before the deadline, beyond the margin, for the caller's own delay in reading its answer: the CPU pressure times -max-caller-delay.",
		func() float64 { return delay().Seconds() })
}

// WatchInFlight exports n(), the /numbers requests being served now.
func (m *Metrics) WatchInFlight(n func() int64) {
	m.gauge("numbers_in_flight_requests", "/numbers requests being served now.", func() float64 { return float64(n()) })
}

// WatchLateTraces exports what became of the late answers the late-answer
// trace recorder was told about: traces kept, and late answers not traced, by
// reason.
func (m *Metrics) WatchLateTraces(st *forensics.Stats) {
	m.counter("numbers_late_traces_total", "Execution traces kept after a late answer; the latest is served at /debug/late-trace on the admin listener.",
		func() float64 { return float64(st.Taken.Load()) })
	for _, s := range []struct {
		reason string
		n      *atomic.Int64
	}{{"interval", &st.Limited}, {"busy", &st.Busy}, {"failed", &st.Failed}} {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "numbers_late_traces_skipped_total",
			Help: "Late answers not traced, by reason: within -late-trace-interval of the last trace (interval), " +
				"another still being written (busy), the snapshot failed or exceeded twice -late-trace-bytes (failed).",
			ConstLabels: prometheus.Labels{"reason": s.reason},
		}, func() float64 { return float64(s.n.Load()) }))
	}
}

// WatchJobs exports the jobs held, by status, and the bytes they take, from
// stats; and from hub the event streams: watchers now, events sent, and
// watchers dropped (a write missed its deadline) or disconnected. All are
// read at each scrape, stats once.
func (m *Metrics) WatchJobs(stats func() jobs.StoreStats, hub *jobs.HubStats) {
	m.registry.MustRegister(&jobsCollector{stats: stats, hub: hub})
}

// jobsCollector is the collector WatchJobs registers.
type jobsCollector struct {
	stats func() jobs.StoreStats
	hub   *jobs.HubStats
}

var (
	jobsDesc = prometheus.NewDesc("numbers_jobs", "Jobs held, by status (running, done, cancelled, failed); with -redis, the running jobs this replica runs.", []string{"status"}, nil)
	jobBytes = prometheus.NewDesc("numbers_jobs_bytes",
		"Bytes taken by the jobs held (numbers and event logs), bounded by -max-job-bytes.", nil, nil)
	jobWatchers   = prometheus.NewDesc("numbers_job_watchers", "Open event streams (GET /jobs/{id}/events).", nil, nil)
	jobEventsSent = prometheus.NewDesc("numbers_job_events_sent_total", "Job events written to watchers, once per watcher.", nil, nil)
	jobDropped    = prometheus.NewDesc("numbers_job_watchers_dropped_total",
		"Event streams ended before their job's done event: the watcher did not read within -write-timeout (stalled), "+
			"or closed its connection (disconnected).", []string{"reason"}, nil)
)

// Describe implements prometheus.Collector.
func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, jobBytes, jobWatchers, jobEventsSent, jobDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for s, n := range st.Jobs {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), jobs.State(s).String())
	}
	ch <- prometheus.MustNewConstMetric(jobBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(jobWatchers, prometheus.GaugeValue, float64(c.hub.Watchers.Load()))
	ch <- prometheus.MustNewConstMetric(jobEventsSent, prometheus.CounterValue, float64(c.hub.Events.Load()))
	ch <- prometheus.MustNewConstMetric(jobDropped, prometheus.CounterValue, float64(c.hub.Dropped.Load()), "stalled")
	ch <- prometheus.MustNewConstMetric(jobDropped, prometheus.CounterValue, float64(c.hub.Disconnected.Load()), "disconnected")
}

// gauge registers a gauge read from f at each scrape.
func (m *Metrics) gauge(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// counter registers a counter read from f at each scrape.
func (m *Metrics) counter(name, help string, f func() float64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// Wrap returns next, counting every request by route and status code.
func (m *Metrics) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		m.countRequest(ctx.Path(), ctx.Response.StatusCode())
	}
}

// countRequest increments the counter of route and status.
func (m *Metrics) countRequest(path []byte, status int) {
	r := len(routes) - 1
	for i, route := range routes[:len(routes)-1] {
		if string(path) == route || route == "/jobs" && bytes.HasPrefix(path, []byte("/jobs/")) {
			r = i
			break
		}
	}
	for s, code := range statuses {
		if status == code {
			m.hot[r][s].Inc()
			return
		}
	}
	m.requests.WithLabelValues(routes[r], strconv.Itoa(status)).Inc()
}

// Gatherer returns the registry, for readers other than a scrape (the
// status page).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
