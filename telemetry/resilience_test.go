package telemetry

import (
	"testing"
	"time"

	"numbers/outcome"
	"numbers/resilience"
)

func TestOutlierAndTailCuttingMetrics(t *testing.T) {
	m := New(500 * time.Millisecond)
	reg := resilience.NewDetector(resilience.OutlierConfig{})
	reg.Success("http://ok.test", time.Millisecond)
	for range 5 {
		reg.Failure("http://down.test")
	}
	reg.Admit("http://down.test")
	m.WatchOutliers(reg)
	var st resilience.Stats
	st.Hedges.Add(3)
	st.HedgesWon.Add(2)
	st.Retries.Add(4)
	b := resilience.NewRetryBudget(resilience.RetryBudgetConfig{MinPerSecond: -1})
	b.Withdraw()
	m.WatchTailCutting(&st, b)
	m.Upstream(outcome.Ejected)

	got := scrape(t, m)
	for key, want := range map[string]float64{
		"numbers_health_hosts,state=healthy":      1,
		"numbers_health_hosts,state=ejected":      1,
		"numbers_health_hosts,state=half-open":    0,
		"numbers_health_ejections_total":          1,
		"numbers_health_ejections_skipped_total":  0,
		"numbers_health_restored_total":           0,
		"numbers_health_probes_total":             0,
		"numbers_health_rejected_total":           1,
		"numbers_health_forgotten_total":          0,
		"numbers_hedges_total":                    3,
		"numbers_hedges_won_total":                2,
		"numbers_retries_total":                   4,
		"numbers_retry_budget_exhausted_total":    1,
		"numbers_upstreams_total,outcome=ejected": 1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v); want %v", key, v, ok, want)
		}
	}
}

func TestTailCuttingWithoutBudget(t *testing.T) {
	m := New(500 * time.Millisecond)
	m.WatchTailCutting(&resilience.Stats{}, nil)
	if v := scrape(t, m)["numbers_retry_budget_exhausted_total"]; v != 0 {
		t.Errorf("exhausted = %v without a budget; want 0", v)
	}
}
