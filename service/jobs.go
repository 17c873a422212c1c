package service

import (
	"context"
	"sync/atomic"
	"time"

	"numbers/jobs"
)

// newJobs returns the job runner, over an embedded store or, with Redis,
// the shared one, the hub that streams the jobs' events, and what stops the
// store's goroutines.
func newJobs(cfg Config, src jobs.Source, sh shared) (*jobs.Runner, *jobs.Hub, func()) {
	// The store tells the runner of the jobs it lost, from its own goroutine:
	// the runner is made after the store, so it is handed over atomically.
	var made atomic.Pointer[jobs.Runner]
	redisJobs := sh.jobStore(cfg, func(id string) {
		if r := made.Load(); r != nil {
			r.Cancel(id) //nolint:errcheck // the job is over either way
		}
	})
	var store jobs.Store = jobs.NewMemStore(jobs.MemConfig{MaxJobs: cfg.Jobs.Max, MaxBytes: cfg.Jobs.MaxBytes, TTL: cfg.Jobs.TTL})
	stopStore := func() {}
	if redisJobs != nil {
		store, stopStore = redisJobs, redisJobs.Stop
	}
	runner := jobs.NewRunner(jobs.RunnerConfig{Source: src, Store: store, Budget: cfg.Jobs.Budget, MaxBudget: cfg.Jobs.MaxBudget})
	made.Store(runner)
	hub := jobs.NewHub(jobs.HubConfig{Store: store, Ping: cfg.Jobs.Ping, MaxStream: cfg.Jobs.MaxStream, WriteTimeout: cfg.Server.WriteTimeout})
	return runner, hub, stopStore
}

// stopJobs ends the event streams (each gets a final comment, within the
// write timeout, then is closed) and cancels the jobs still running.
func stopJobs(runner *jobs.Runner, hub *jobs.Hub, drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	hub.Shutdown(ctx) //nolint:errcheck // past the drain time it closes what is left
	runner.Stop()
}
