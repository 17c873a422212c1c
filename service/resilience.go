package service

import (
	"numbers/fetcher"
	"numbers/resilience"
	"numbers/telemetry"
	"numbers/tracing"
)

// newUpstream returns the resilience link over client as c says: outlier
// detection (whose sweeper's stop is returned, nil when detection is off),
// hedges, retries and the retry budget that pays for them.
func newUpstream(c Outliers, client *fetcher.Client, tracer *tracing.Tracer, metrics *telemetry.Metrics) (*resilience.Link, func()) {
	cfg := resilience.Config{Fetcher: client, Tracer: tracer.Tracer()}
	if hedge, retry := c.Hedge.on(true), c.Retry.on(true); hedge || retry {
		cfg.Budget = resilience.NewRetryBudget(resilience.RetryBudgetConfig{Percent: c.RetryShare, MinPerSecond: c.RetryMinPerSecond})
		cfg.Hedge, cfg.Retry = hedge, retry
	}
	var stop func()
	if c.Detection.on(true) {
		cfg.Detector = resilience.NewDetector(resilience.OutlierConfig{
			Failures:          c.Failures,
			FailureRate:       c.FailureRate,
			BaseEjection:      c.Ejection,
			MaxEjection:       c.MaxEjection,
			ProbeInterval:     c.ProbeInterval,
			MaxEjectedPercent: c.MaxEjectedPercent,
			MaxHosts:          c.MaxHosts,
		})
		cfg.Detector.Start()
		stop = cfg.Detector.Stop
		metrics.WatchOutliers(cfg.Detector)
	}
	link := resilience.New(cfg)
	metrics.WatchTailCutting(&link.Stats, cfg.Budget)
	return link, stop
}
