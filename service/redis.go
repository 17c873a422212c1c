package service

import (
	"net/url"
	"time"

	"numbers/cache"
	"numbers/redisstore"
	"numbers/telemetry"
)

// redactedURL is u without its password, for the logs.
func redactedURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}

// shared is what Config.Redis wires in: the client and the second level of the
// cache; the zero value (no Redis) wires nothing.
type shared struct {
	client *redisstore.Client
	cache  *redisstore.Cache
}

// openShared opens the Redis that c names, if any, and exports its
// metrics. Redis being down at start is no error: it is connected to in
// the background.
func openShared(c Redis, metrics *telemetry.Metrics) (shared, error) {
	if c.URL == "" {
		return shared{}, nil
	}
	var observe func(string, time.Duration, error)
	client, err := redisstore.Open(redisstore.Config{URL: c.URL, Timeout: c.Timeout,
		Observe: func(op string, took time.Duration, err error) { observe(op, took, err) }})
	if err != nil {
		return shared{}, err
	}
	s := shared{client: client, cache: client.Cache()}
	observe = metrics.WatchRedis(client.Up, &s.cache.Stats).Observe
	return s, nil
}

// jobStore returns the job store on Redis, which tells lost of the jobs this
// process runs that another ended; nil without -redis.
func (s shared) jobStore(cfg Config, lost func(id string)) *redisstore.JobStore {
	if s.client == nil {
		return nil
	}
	return s.client.Jobs(redisstore.JobConfig{Lease: cfg.Redis.JobLease, TTL: cfg.Jobs.TTL, MaxJobs: cfg.Jobs.Max, Lost: lost})
}

// level returns the second level of the cache: nil without Redis.
func (s shared) level() cache.Level {
	if s.cache == nil {
		return nil
	}
	return s.cache
}

// close waits for the cache writes in flight and closes the client.
func (s shared) close() {
	if s.client != nil {
		s.cache.Wait()
		s.client.Close()
	}
}
