package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"numbers/budget"
	"numbers/health"
	"numbers/source"
)

// WatchHealth exports the passive health of upstream hosts, read at each
// scrape: hosts tracked by state, ejections, trials, and fetches answered
// without asking an ejected host.
func (m *Metrics) WatchHealth(reg *health.Registry) {
	for _, s := range []health.State{health.Healthy, health.Ejected, health.HalfOpen} {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "numbers_health_hosts",
			Help:        "Upstream hosts tracked by passive health, by state (healthy, ejected, half-open: ejected and past its ejection time, probed by one trial per interval).",
			ConstLabels: prometheus.Labels{"state": s.String()},
		}, func() float64 { return float64(reg.Hosts()[s]) }))
	}
	st := &reg.Stats
	m.counter("numbers_health_ejections_total", "Upstream hosts ejected after failing repeatedly.",
		func() float64 { return float64(st.Ejections.Load()) })
	m.counter("numbers_health_ejections_skipped_total", "Ejections skipped because -health-max-ejected-percent of the hosts were ejected already.",
		func() float64 { return float64(st.Skipped.Load()) })
	m.counter("numbers_health_restored_total", "Ejected upstream hosts back to healthy after a success.",
		func() float64 { return float64(st.Restored.Load()) })
	m.counter("numbers_health_probes_total", "Trial requests sent to half-open upstream hosts.",
		func() float64 { return float64(st.Probes.Load()) })
	m.counter("numbers_health_rejected_total", "Upstream fetches answered at once, without asking, because their host is ejected.",
		func() float64 { return float64(st.Rejected.Load()) })
	m.counter("numbers_health_forgotten_total", "Upstream hosts dropped from the health registry to stay within -health-max-hosts.",
		func() float64 { return float64(st.Forgotten.Load()) })
}

// WatchTailCutting exports the hedged requests and retries of the source,
// and the refusals of the budget they share (b may be nil: neither is sent).
func (m *Metrics) WatchTailCutting(st *source.Stats, b *budget.Budget) {
	m.counter("numbers_hedges_total", "Hedged upstream requests sent: a second request for a fetch still pending after its host's p95 latency.",
		func() float64 { return float64(st.Hedges.Load()) })
	m.counter("numbers_hedges_won_total", "Upstream fetches whose hedged request answered first.",
		func() float64 { return float64(st.HedgesWon.Load()) })
	m.counter("numbers_retries_total", "Upstream fast failures (refused, reset, 502, 503, 504) retried once.",
		func() float64 { return float64(st.Retries.Load()) })
	m.counter("numbers_retry_budget_exhausted_total", "Hedges and retries not sent because the retry budget had no token.",
		func() float64 {
			if b == nil {
				return 0
			}
			return float64(b.Stats.Exhausted.Load())
		})
}
