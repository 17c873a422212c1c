package telemetry

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"numbers/resilience"
)

// WatchOutliers exports outlier detection, read at each scrape: hosts
// tracked by state, ejections, trials, and fetches answered without asking
// an ejected host. (The metrics keep their numbers_health_ names.)
func (m *Metrics) WatchOutliers(reg *resilience.Detector) {
	for _, s := range []resilience.State{resilience.Healthy, resilience.Ejected, resilience.HalfOpen} {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "numbers_health_hosts",
			Help:        "Upstream hosts tracked by outlier detection, by state (healthy, ejected, half-open: ejected and past its ejection time, probed by one trial per interval).",
			ConstLabels: prometheus.Labels{"state": s.String()},
		}, func() float64 { return float64(reg.Hosts()[s]) }))
	}
	st := &reg.Stats
	m.counters(
		statCounter{"numbers_health_ejections_total", "Upstream hosts ejected after failing repeatedly.", &st.Ejections},
		statCounter{"numbers_health_ejections_skipped_total", "Ejections skipped because outlier-max-ejected-percent of the hosts were ejected already.", &st.Skipped},
		statCounter{"numbers_health_restored_total", "Ejected upstream hosts back to healthy after a success.", &st.Restored},
		statCounter{"numbers_health_probes_total", "Trial requests sent to half-open upstream hosts.", &st.Probes},
		statCounter{"numbers_health_rejected_total", "Upstream fetches answered at once, without asking, because their host is ejected.", &st.Rejected},
		statCounter{"numbers_health_forgotten_total", "Upstream hosts dropped from outlier detection to stay within outlier-max-hosts.", &st.Forgotten},
	)
}

// WatchTailCutting exports the hedged requests and retries of the upstream
// link, and the refusals of the retry budget they share (b may be nil:
// neither is sent).
func (m *Metrics) WatchTailCutting(st *resilience.Stats, b *resilience.RetryBudget) {
	var none atomic.Uint64 // without a budget, nothing is ever refused
	exhausted := &none
	if b != nil {
		exhausted = &b.Stats.Exhausted
	}
	m.counters(
		statCounter{"numbers_hedges_total", "Hedged upstream requests sent: a second request for a fetch still pending after its host's p95 latency.", &st.Hedges},
		statCounter{"numbers_hedges_won_total", "Upstream fetches whose hedged request answered first.", &st.HedgesWon},
		statCounter{"numbers_retries_total", "Upstream fast failures (refused, reset, 502, 503, 504) retried once.", &st.Retries},
		statCounter{"numbers_retry_budget_exhausted_total", "Hedges and retries not sent because the retry budget had no token.", exhausted},
	)
}

// statCounter is a counter exported from an atomic of a Stats struct.
type statCounter struct {
	name, help string
	n          *atomic.Uint64
}

// counters registers cs, each read at every scrape.
func (m *Metrics) counters(cs ...statCounter) {
	for _, c := range cs {
		m.counter(c.name, c.help, func() float64 { return float64(c.n.Load()) })
	}
}
