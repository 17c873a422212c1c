package service

import (
	"numbers/budget"
	"numbers/health"
	"numbers/source"
)

// wireOutliers sets up what c asks for in cfg: the registry (whose
// sweeper's stop is returned, nil when detection is off) and the budget.
func wireOutliers(c Outliers, cfg *source.Config) (reg *health.Registry, stop func()) {
	if hedge, retry := c.Hedge.on(true), c.Retry.on(true); hedge || retry {
		cfg.Budget = budget.New(budget.Config{Percent: c.RetryShare, MinPerSecond: c.RetryMinPerSecond})
		cfg.Hedge, cfg.Retry = hedge, retry
	}
	if !c.Detection.on(true) {
		return nil, nil
	}
	reg = health.New(health.Config{
		Failures:          c.Failures,
		FailureRate:       c.FailureRate,
		BaseEjection:      c.Ejection,
		MaxEjection:       c.MaxEjection,
		ProbeInterval:     c.ProbeInterval,
		MaxEjectedPercent: c.MaxEjectedPercent,
		MaxHosts:          c.MaxHosts,
	})
	cfg.Health = reg
	return reg, reg.Start()
}
