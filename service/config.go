package service

import (
	"log/slog"
	"net/netip"
	"time"

	"numbers/tracing"
)

// Config is the whole configuration of a Service. The zero value of every
// field means its documented default; where a setting can be turned off,
// Off (a negative number, or the Switch value Off) says so explicitly.
type Config struct {
	// Addr is the public listen address; "" means ":8080".
	Addr string
	// Admin is the admin listen address (metrics, pprof, the status page,
	// the late-answer trace); "" means "127.0.0.1:6060", "off" serves none.
	Admin string

	// Budget is the hard latency budget of an answer; zero means 500ms.
	Budget time.Duration
	// MaxURLs is the most distinct valid URLs a request may name; zero
	// means 64.
	MaxURLs int

	Upstreams Upstreams
	Cache     Cache
	Answer    Answer
	Overload  Overload
	Outliers  Outliers
	Jobs      Jobs
	Redis     Redis
	Server    Server
	LateTrace LateTrace
	Tracing   Tracing

	// AccessLog logs one line per request.
	AccessLog bool
	// Log receives the service's log; nil means slog.Default().
	Log *slog.Logger
	// Version names the build in the logs, the traces and the User-Agent;
	// "" means "dev".
	Version string
}

// Switch turns a feature that is on by default on or off; its zero value
// is the default.
type Switch int8

// The values of a Switch.
const (
	Default Switch = iota
	On
	Off
)

// String names the value: default, on or off.
func (s Switch) String() string {
	switch s {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "default"
}

// on reports whether s leaves the feature on, given its default.
func (s Switch) on(byDefault bool) bool { return s == On || s == Default && byDefault }

// SwitchOf is On for true and Off for false.
func SwitchOf(on bool) Switch {
	if on {
		return On
	}
	return Off
}

// Upstreams says which upstreams may be fetched and how (package guard,
// package fetcher).
type Upstreams struct {
	AllowHosts, DenyHosts []string       // host patterns; empty allows any not denied
	AllowNets             []netip.Prefix // empty allows any address not denied
	// DenyNets are refused, checked on the address dialled; nil means
	// guard.DefaultDenyNets, an empty non-nil list denies none.
	DenyNets []netip.Prefix
	// MaxBody is the largest upstream body accepted; zero means 8 MiB.
	MaxBody int64
	// MaxConnsPerHost is the keep-alive connections kept per host; zero
	// means 4096.
	MaxConnsPerHost int
}

// Cache configures the upstream cache, coalescing and background
// completion (package cache, package source).
type Cache struct {
	// Bytes is the size of the in-process cache; zero means 64 MiB,
	// negative turns caching off.
	Bytes int64
	// MaxStale is how long past freshness an entry may stand in for a
	// failed or late upstream where its Cache-Control allows; zero means
	// one hour, negative only what stale-if-error allows.
	MaxStale time.Duration
	// Coalesce shares one fetch among concurrent requests for a URL; on by
	// default.
	Coalesce Switch
	// Background is how long a fetch may go on after its answer was sent,
	// to fill the cache; zero means 5s, negative turns it off.
	Background time.Duration
	// MaxBackground bounds the fetches going on in the background at once;
	// zero means 1024.
	MaxBackground int
}

// Answer configures when an answer is flushed (package deadline).
type Answer struct {
	// Margin is the safety margin's base; zero means deadline.DefaultMargin.
	Margin time.Duration
	// Calibrate measures the encode and write cost at start to size the
	// per-number margin; on by default.
	Calibrate Switch
	// MaxCallerDelay is kept back, times the machine's CPU pressure, for a
	// caller on a busy machine to read its answer; zero means
	// deadline.DefaultMaxDelay, negative keeps nothing back.
	MaxCallerDelay time.Duration
}

// Overload configures admission (package overload); zero values mean the
// package's defaults, negative ones no limit.
type Overload struct {
	MaxInFlight int
	QueueLimit  time.Duration
	LagLimit    time.Duration // the callers' mean lag in reading their answers
	BusyLimit   float64       // in (0, 1]; 1 never refuses for it
	// KernelArrival is when requests are dated from the kernel's receive
	// stamps: "busy" (the default, ""), "always" or "never".
	KernelArrival string
}

// Outliers configures outlier detection, hedges and retries (package
// resilience); zero values mean the package's defaults.
type Outliers struct {
	// Detection ejects hosts that keep failing; on by default. Hedging
	// needs its latency estimates.
	Detection         Switch
	Failures          int     // in a row; negative never ejects on a run
	FailureRate       float64 // negative never ejects on the rate
	Ejection          time.Duration
	MaxEjection       time.Duration
	ProbeInterval     time.Duration
	MaxEjectedPercent int
	MaxHosts          int
	// Hedge and Retry are on by default, paid from the retry budget.
	Hedge, Retry Switch
	// RetryShare is the hedges and retries allowed as a share of upstream
	// requests; zero means 0.1.
	RetryShare float64
	// RetryMinPerSecond is allowed whatever the requests; zero means 10,
	// negative none.
	RetryMinPerSecond float64
}

// Jobs configures long aggregations (package jobs).
type Jobs struct {
	Budget    time.Duration // zero means 30s
	MaxBudget time.Duration // zero means 5m
	Max       int           // zero means 10,000
	MaxBytes  int64         // zero means 256 MiB
	TTL       time.Duration // how long a finished job is kept; zero means 1h
	Ping      time.Duration // a silent event stream's keep-alive; zero means 15s
	MaxStream time.Duration // an event stream is closed after this long (the client reconnects); zero means 10m
}

// Redis shares the cache and the jobs with other replicas; the zero value
// shares nothing.
type Redis struct {
	URL      string        // redis://[user:password@]host:port[/db]; "" shares nothing
	Lookup   time.Duration // longest cache look-up on the request path; zero means 20ms
	Timeout  time.Duration // longest other command; zero means 1s
	JobLease time.Duration // a running job's lease; zero means 5s
}

// Server configures the public listener.
type Server struct {
	ReadTimeout    time.Duration // zero means 5s
	WriteTimeout   time.Duration // zero means 5s
	IdleTimeout    time.Duration // zero means 60s
	MaxHeaderBytes int           // zero means 64 KiB
}

// LateTrace keeps the last seconds of the execution trace and snapshots
// them when an answer is late, for GET /debug/late-trace on Admin.
type LateTrace struct {
	On       bool
	Window   time.Duration // zero means 5s
	MaxBytes int64         // zero means 16 MiB
	Interval time.Duration // at most one trace per interval; zero means 1m
}

// Tracing exports OpenTelemetry traces with OTLP over HTTP; the zero value
// traces nothing.
type Tracing struct {
	On bool
	// URL is the collector's traces URL; "" lets the exporter read the
	// standard OTEL_EXPORTER_OTLP_* variables.
	URL     string
	Sampler tracing.Sampler
}
