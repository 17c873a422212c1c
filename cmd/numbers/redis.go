package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"numbers/jobs"
	"numbers/redisstore"
	"numbers/source"
	"numbers/telemetry"
)

// redisConfig is the configuration of the state shared with other replicas
// through Redis (flags -redis*, -job-lease).
type redisConfig struct {
	url      string
	lookup   time.Duration
	timeout  time.Duration
	jobLease time.Duration
}

// addRedisFlags defines the flags of c on fs, with their defaults.
func addRedisFlags(fs *flag.FlagSet, c *redisConfig) {
	fs.StringVar(&c.url, "redis", "", "share the upstream cache and the jobs with other replicas through this Redis (redis://[user:password@]host:port[/db]); empty: this process alone")
	fs.DurationVar(&c.lookup, "redis-lookup", source.DefaultRemoteWait, "with -redis: longest a look-up in the shared cache may take on the request path, and it takes at most a tenth of the time left; slower is a miss")
	fs.DurationVar(&c.timeout, "redis-timeout", time.Second, "with -redis: longest any other Redis command may take (job reads and writes, cache writes, leases); slower is an error")
	fs.DurationVar(&c.jobLease, "job-lease", 5*time.Second, "with -redis: a running job's lease, renewed every quarter of it by its replica; a job whose replica stopped renewing it for this long is ended (status failed) by another")
}

// validate rejects values the service cannot run with.
func (c redisConfig) validate() error {
	if c.url == "" {
		return nil
	}
	if u, err := url.Parse(c.url); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || u.Host == "" && u.Scheme != "unix" {
		return errors.New("-redis must be a URL like redis://127.0.0.1:6379/0")
	}
	switch {
	case c.lookup <= 0 || c.timeout <= 0:
		return errors.New("-redis-lookup and -redis-timeout must be positive")
	case c.jobLease < 100*time.Millisecond:
		return fmt.Errorf("-job-lease must be at least 100ms, got %v", c.jobLease)
	}
	return nil
}

// LogValue groups the configuration in the start-up log line, without the
// URL's password.
func (c redisConfig) LogValue() slog.Value {
	shown := c.url
	if u, err := url.Parse(c.url); err == nil {
		shown = u.Redacted()
	}
	return slog.GroupValue(slog.String("url", shown), slog.Duration("lookup", c.lookup),
		slog.Duration("timeout", c.timeout), slog.Duration("job_lease", c.jobLease))
}

// shared is what -redis wires in: the client and the second level of the
// cache; the zero value (no -redis) wires nothing.
type shared struct {
	client *redisstore.Client
	cache  *redisstore.Cache
}

// openShared opens the Redis that c names, if any, sets it as the second
// level of srcCfg's cache, and exports its metrics. Redis being down at
// start is no error: it is connected to in the background.
func openShared(c redisConfig, srcCfg *source.Config, metrics *telemetry.Metrics) (shared, error) {
	if c.url == "" {
		return shared{}, nil
	}
	var observe func(string, time.Duration, error)
	client, err := redisstore.Open(redisstore.Config{URL: c.url, Timeout: c.timeout,
		Observe: func(op string, took time.Duration, err error) { observe(op, took, err) }})
	if err != nil {
		return shared{}, err
	}
	s := shared{client: client, cache: client.Cache()}
	observe = metrics.WatchRedis(client.Up, &s.cache.Stats).Observe
	if srcCfg.Cache != nil {
		srcCfg.Remote, srcCfg.RemoteWait = s.cache, c.lookup
	}
	return s, nil
}

// jobStore returns the job store on Redis, which tells lost of the jobs this
// process runs that another ended; nil without -redis.
func (s shared) jobStore(cfg config, lost func(id string)) *redisstore.JobStore {
	if s.client == nil {
		return nil
	}
	return s.client.Jobs(redisstore.JobConfig{Lease: cfg.redis.jobLease, TTL: cfg.jobTTL, MaxJobs: cfg.maxJobs, Lost: lost})
}

// close waits for the cache writes in flight and closes the client.
func (s shared) close() {
	if s.client != nil {
		s.cache.Wait()
		s.client.Close()
	}
}

// storeOf returns st as a jobs.Store, or mem when st is nil.
func storeOf(st *redisstore.JobStore, mem jobs.Store) jobs.Store {
	if st == nil {
		return mem
	}
	return st
}
