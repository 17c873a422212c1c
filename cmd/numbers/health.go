package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"numbers/budget"
	"numbers/health"
	"numbers/source"
)

// healthConfig is the configuration of passive health, hedged requests and
// retries (flags -health*, -hedge, -retry*).
type healthConfig struct {
	on                bool
	failures          int
	failureRate       float64
	ejection          time.Duration
	maxEjection       time.Duration
	probeInterval     time.Duration
	maxEjectedPercent int
	maxHosts          int

	hedge           bool
	retry           bool
	budgetPercent   float64
	budgetPerSecond float64
}

// addHealthFlags defines the flags of c on fs, with their defaults.
func addHealthFlags(fs *flag.FlagSet, c *healthConfig) {
	fs.BoolVar(&c.on, "health", true, "track upstream hosts' health passively and eject a host that keeps failing: its URLs are answered at once (stale or outcome ejected); false also turns hedging off")
	fs.IntVar(&c.failures, "health-failures", 5, "failures in a row (with no success for 200ms) that eject an upstream host; 0 never ejects on a run of failures")
	fs.Float64Var(&c.failureRate, "health-failure-rate", 0.85, "share of failures among at least 50 results in 10s that ejects an upstream host; 0 never ejects on the rate")
	fs.DurationVar(&c.ejection, "health-ejection", time.Second, "first ejection time of a host; it doubles with each ejection, and falls back after 10s healthy")
	fs.DurationVar(&c.maxEjection, "health-max-ejection", 30*time.Second, "longest ejection time")
	fs.DurationVar(&c.probeInterval, "health-probe-interval", time.Second, "how often an ejected host past its ejection time gets one trial request, sent in the background; a success brings it back")
	fs.IntVar(&c.maxEjectedPercent, "health-max-ejected-percent", 50, "most upstream hosts ejected at once, in percent of those tracked once 10 are (one may always be); 100 means no bound")
	fs.IntVar(&c.maxHosts, "health-max-hosts", 10000, "upstream hosts tracked at most; the least recently used is forgotten first")
	fs.BoolVar(&c.hedge, "hedge", true, "send one more request for an upstream fetch still pending after its host's p95 latency (or twice its median, if longer), paid from the retry budget")
	fs.BoolVar(&c.retry, "retry", true, "retry an upstream's fast failure (refused, reset, 502, 503, 504) once if time allows, paid from the retry budget")
	fs.Float64Var(&c.budgetPercent, "retry-budget", 0.1, "hedges and retries allowed, as a share of upstream requests (deposits last 10s)")
	fs.Float64Var(&c.budgetPerSecond, "retry-budget-min", 10, "hedges and retries allowed per second whatever the requests; 0 none")
}

// validate rejects values the service cannot run with.
func (c healthConfig) validate() error {
	switch {
	case c.failures < 0 || c.failureRate < 0 || c.failureRate > 1:
		return errors.New("-health-failures must not be negative, and -health-failure-rate must be within 0 and 1")
	case c.ejection <= 0 || c.maxEjection < c.ejection:
		return fmt.Errorf("-health-ejection must be positive and at most -health-max-ejection, got %v and %v", c.ejection, c.maxEjection)
	case c.probeInterval <= 0:
		return errors.New("-health-probe-interval must be positive")
	case c.maxEjectedPercent < 1 || c.maxHosts < 1:
		return errors.New("-health-max-ejected-percent and -health-max-hosts must be at least 1")
	case c.budgetPercent <= 0 || c.budgetPerSecond < 0:
		return errors.New("-retry-budget must be positive, and -retry-budget-min not negative")
	}
	return nil
}

// LogValue groups the configuration in the start-up log line.
func (c healthConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("on", c.on), slog.Int("failures", c.failures), slog.Float64("failure_rate", c.failureRate),
		slog.Duration("ejection", c.ejection), slog.Duration("max_ejection", c.maxEjection),
		slog.Duration("probe_interval", c.probeInterval), slog.Int("max_ejected_percent", c.maxEjectedPercent),
		slog.Int("max_hosts", c.maxHosts), slog.Bool("hedge", c.hedge), slog.Bool("retry", c.retry),
		slog.Float64("retry_budget", c.budgetPercent), slog.Float64("retry_budget_min", c.budgetPerSecond))
}

// orNever maps a flag's 0 ("never") to a library's negative "never".
func orNever[T int | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// wire sets up what c asks for in cfg: the registry (whose sweeper's stop is
// returned, nil when health is off) and the budget.
func (c healthConfig) wire(cfg *source.Config) (reg *health.Registry, stop func()) {
	if c.hedge || c.retry {
		cfg.Budget = budget.New(budget.Config{Percent: c.budgetPercent, MinPerSecond: orNever(c.budgetPerSecond)})
		cfg.Hedge, cfg.Retry = c.hedge, c.retry
	}
	if !c.on {
		return nil, nil
	}
	reg = health.New(health.Config{
		Failures:          orNever(c.failures),
		FailureRate:       orNever(c.failureRate),
		BaseEjection:      c.ejection,
		MaxEjection:       c.maxEjection,
		ProbeInterval:     c.probeInterval,
		MaxEjectedPercent: c.maxEjectedPercent,
		MaxHosts:          c.maxHosts,
	})
	cfg.Health = reg
	return reg, reg.Start()
}
