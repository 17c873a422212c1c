// check.go fills in the defaults of a Config and refuses what the service
// cannot run with.

package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"numbers/deadline"
	"numbers/guard"
	"numbers/overload"
)

// Validate reports what New would refuse in c: a value the service cannot
// run with, or a setting given for a feature that is off.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns c with every zero replaced by its default, and
// checks what is left.
func (c Config) withDefaults() (Config, error) {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	defInt := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	defInt64 := func(p *int64, d int64) {
		if *p == 0 {
			*p = d
		}
	}
	if err := c.needs(); err != nil {
		return c, err
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Admin == "" {
		c.Admin = "127.0.0.1:6060"
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	def(&c.Budget, 500*time.Millisecond)
	defInt(&c.MaxURLs, 64)
	if c.Upstreams.DenyNets == nil {
		c.Upstreams.DenyNets = guard.DefaultDenyNets()
	}
	defInt64(&c.Upstreams.MaxBody, 8<<20)
	defInt(&c.Upstreams.MaxConnsPerHost, 4096)
	defInt64(&c.Cache.Bytes, 64<<20)
	def(&c.Cache.MaxStale, time.Hour)
	if c.Cache.Bytes < 0 {
		c.Cache.Background = -1 // it fills the cache: nothing to fill
	}
	def(&c.Cache.Background, 5*time.Second)
	defInt(&c.Cache.MaxBackground, 1024)
	def(&c.Answer.Margin, deadline.DefaultMargin.Base)
	def(&c.Answer.MaxCallerDelay, deadline.DefaultMaxDelay)
	defInt(&c.Overload.MaxInFlight, overload.DefaultMaxInFlight)
	def(&c.Overload.QueueLimit, overload.DefaultQueueLimit)
	def(&c.Overload.LagLimit, overload.DefaultLagLimit)
	if c.Overload.BusyLimit == 0 {
		c.Overload.BusyLimit = overload.DefaultBusyLimit
	}
	for _, sw := range []*Switch{&c.Cache.Coalesce, &c.Answer.Calibrate, &c.Outliers.Detection, &c.Outliers.Hedge, &c.Outliers.Retry} {
		*sw = SwitchOf(sw.on(true)) // all on by default
	}
	if c.Overload.KernelArrival == "" {
		c.Overload.KernelArrival = "busy"
	}
	def(&c.Jobs.Budget, 30*time.Second)
	def(&c.Jobs.MaxBudget, 5*time.Minute)
	defInt(&c.Jobs.Max, 10000)
	defInt64(&c.Jobs.MaxBytes, 256<<20)
	def(&c.Jobs.TTL, time.Hour)
	def(&c.Jobs.Ping, 15*time.Second)
	def(&c.Jobs.MaxStream, 10*time.Minute)
	def(&c.Redis.Lookup, 20*time.Millisecond)
	def(&c.Redis.Timeout, time.Second)
	def(&c.Redis.JobLease, 5*time.Second)
	def(&c.Server.ReadTimeout, 5*time.Second)
	def(&c.Server.WriteTimeout, 5*time.Second)
	def(&c.Server.IdleTimeout, 60*time.Second)
	defInt(&c.Server.MaxHeaderBytes, 64<<10)
	def(&c.LateTrace.Window, 5*time.Second)
	defInt64(&c.LateTrace.MaxBytes, 16<<20)
	def(&c.LateTrace.Interval, time.Minute)
	return c, c.check()
}

// check rejects values and combinations the service cannot run with; every
// message names the settings it is about, as flags (the command's names).
func (c Config) check() error {
	o := c.Outliers
	switch {
	case c.Answer.Margin < 0:
		return fmt.Errorf("-margin must be positive, got %v", c.Answer.Margin)
	case c.Budget < 2*c.Answer.Margin:
		return fmt.Errorf("-budget %v is too small: at least %v, twice the %v safety margin (-margin)", c.Budget, 2*c.Answer.Margin, c.Answer.Margin)
	case c.MaxURLs < 1:
		return fmt.Errorf("-max-urls must be at least 1, got %d", c.MaxURLs)
	case c.Upstreams.MaxBody < 1 || c.Upstreams.MaxConnsPerHost < 1:
		return errors.New("-max-body and -max-conns-per-host must be positive")
	case c.Overload.MaxInFlight < -1:
		return fmt.Errorf("-max-in-flight must be positive, or -1 for no limit, got %d", c.Overload.MaxInFlight)
	case c.Overload.KernelArrival != "busy" && c.Overload.KernelArrival != "always" && c.Overload.KernelArrival != "never":
		return fmt.Errorf("-kernel-arrival must be busy, always or never, got %q", c.Overload.KernelArrival)
	case c.Overload.BusyLimit < 0 || c.Overload.BusyLimit > 1:
		return fmt.Errorf("-busy-limit must be in (0, 1], got %g", c.Overload.BusyLimit)
	case c.Server.ReadTimeout < 0 || c.Server.WriteTimeout < 0 || c.Server.IdleTimeout < 0:
		return errors.New("-read-timeout, -write-timeout and -idle-timeout must be positive")
	case c.Server.WriteTimeout < c.Budget:
		return fmt.Errorf("-write-timeout %v is shorter than -budget %v", c.Server.WriteTimeout, c.Budget)
	case c.Server.MaxHeaderBytes < 4<<10:
		return fmt.Errorf("-max-header-bytes must be at least 4KiB, got %d", c.Server.MaxHeaderBytes)
	case c.Cache.MaxBackground < 1:
		return fmt.Errorf("-max-background must be at least 1, got %d", c.Cache.MaxBackground)
	case c.LateTrace.Window < 0 || c.LateTrace.Interval < 0:
		return errors.New("-late-trace-window and -late-trace-interval must be positive")
	case c.LateTrace.MaxBytes < 1<<20:
		return fmt.Errorf("-late-trace-bytes must be at least 1MiB, got %d", c.LateTrace.MaxBytes)
	case c.LateTrace.On && c.Admin == "off":
		return errors.New("-late-trace needs the admin listener to serve its traces: it cannot be set with -admin off")
	case c.Jobs.Budget < 0 || c.Jobs.MaxBudget < c.Jobs.Budget:
		return fmt.Errorf("-job-budget must be positive and at most -max-job-budget (%v), got %v", c.Jobs.MaxBudget, c.Jobs.Budget)
	case c.Jobs.Max < 1 || c.Jobs.MaxBytes < 1:
		return errors.New("-max-jobs and -max-job-bytes must be positive")
	case c.Jobs.TTL < 0 || c.Jobs.Ping < 0 || c.Jobs.MaxStream < 0:
		return errors.New("-job-ttl, -sse-ping and -sse-max must be positive")
	case c.Admin != "off" && c.Admin == c.Addr && !strings.HasSuffix(c.Addr, ":0"):
		return errors.New("-admin and -addr must differ: pprof must never be on the public listener")
	case o.Failures < -1 || o.FailureRate > 1 || o.Ejection < 0 || o.MaxEjection < 0 || o.ProbeInterval < 0 || o.MaxEjectedPercent < 0 || o.MaxHosts < 0:
		return errors.New("-outlier-* settings must not be negative (but -1 for never), and -outlier-failure-rate at most 1")
	case o.Ejection > 0 && o.MaxEjection > 0 && o.MaxEjection < o.Ejection:
		return fmt.Errorf("-outlier-ejection %v must be at most -outlier-max-ejection %v", o.Ejection, o.MaxEjection)
	case o.Hedge.on(true) && !o.Detection.on(true):
		return errors.New("-hedge needs the latency estimates of outlier detection: with -outlier-detection=false, set -hedge=false too")
	case o.RetryShare < 0:
		return errors.New("-retry-budget must be positive")
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || u.Host == "" && u.Scheme != "unix" {
			return errors.New("-redis must be a URL like redis://127.0.0.1:6379/0")
		}
		if c.Redis.Lookup < 0 || c.Redis.Timeout < 0 || c.Redis.JobLease < 100*time.Millisecond {
			return errors.New("-redis-lookup and -redis-timeout must be positive, and -job-lease at least 100ms")
		}
	}
	return nil
}

// needs rejects a setting given for a feature that is off, which would
// otherwise be silently ignored: it runs before the defaults are filled
// in, when a non-zero value is one that was set.
func (c Config) needs() error {
	o := c.Outliers
	for _, n := range []struct {
		set  bool
		off  bool
		what string
	}{
		{c.Redis.Lookup != 0 || c.Redis.Timeout != 0 || c.Redis.JobLease != 0, c.Redis.URL == "",
			"-redis-lookup, -redis-timeout and -job-lease need -redis"},
		{c.Redis.Lookup != 0, c.Cache.Bytes < 0, "-redis-lookup needs the cache: it cannot be set with -cache-bytes off"},
		{c.LateTrace.Window != 0 || c.LateTrace.MaxBytes != 0 || c.LateTrace.Interval != 0, !c.LateTrace.On,
			"-late-trace-window, -late-trace-bytes and -late-trace-interval need -late-trace"},
		{o.Failures != 0 || o.FailureRate != 0 || o.Ejection != 0 || o.MaxEjection != 0 || o.ProbeInterval != 0 ||
			o.MaxEjectedPercent != 0 || o.MaxHosts != 0, o.Detection == Off,
			"the -outlier-* settings need outlier detection: they cannot be set with -outlier-detection=false"},
		{o.RetryShare != 0 || o.RetryMinPerSecond != 0, o.Hedge == Off && o.Retry == Off,
			"-retry-budget and -retry-budget-min pay for hedges and retries: they cannot be set with -hedge=false and -retry=false"},
		{c.Cache.MaxStale != 0 || c.Cache.Background != 0, c.Cache.Bytes < 0,
			"-max-stale and -background need the cache: they cannot be set with -cache-bytes off"},
		{c.Cache.MaxBackground != 0, c.Cache.Background < 0, "-max-background cannot be set with -background off"},
		{c.Overload.QueueLimit > 0, c.Overload.KernelArrival == "never",
			"-queue-limit needs the kernel's receive stamps: it cannot be set with -kernel-arrival never"},
	} {
		if n.set && n.off {
			return errors.New(n.what)
		}
	}
	return nil
}
