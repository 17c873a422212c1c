package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"numbers/deadline"
	"numbers/guard"
	"numbers/overload"
)

// config is the effective configuration of the service, from flags and
// their environment twins (flag -max-urls, variable NUMBERS_MAX_URLS).
type config struct {
	addr        string
	admin       string
	budget      time.Duration
	maxURLs     int
	maxBody     byteSize
	maxConns    int
	calibrate   bool
	margin      time.Duration
	callerDelay time.Duration

	maxInFlight   int
	queueLimit    time.Duration
	busyLimit     float64
	kernelArrival string
	memoryLimit   byteSize

	readTimeout    time.Duration
	writeTimeout   time.Duration
	idleTimeout    time.Duration
	maxHeaderBytes byteSize

	logFormat string
	logLevel  slog.Level
	accessLog bool

	allowHosts, denyHosts []string
	allowNets, denyNets   []netip.Prefix

	cacheBytes byteSize
	maxStale   time.Duration
	lateBudget time.Duration
	maxLate    int
	coalesce   bool

	lateTrace         bool
	lateTraceWindow   time.Duration
	lateTraceBytes    byteSize
	lateTraceInterval time.Duration

	jobBudget    time.Duration
	maxJobBudget time.Duration
	maxJobs      int
	maxJobBytes  byteSize
	jobTTL       time.Duration
	ssePing      time.Duration

	health healthConfig
	redis  redisConfig

	tracing tracingConfig
}

// envPrefix prefixes the environment twin of every flag.
const envPrefix = "NUMBERS_"

// envName returns the environment twin of a flag name.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig parses args (without the program name) and the environment.
// A flag given on the command line wins over its environment twin.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (config, error) {
	var c config
	c.maxBody = 8 << 20
	c.maxHeaderBytes = 64 << 10
	c.cacheBytes = 64 << 20
	c.lateTraceBytes = 16 << 20
	c.maxJobBytes = 256 << 20
	c.denyNets = guard.DefaultDenyNets()
	fs := flag.NewFlagSet("numbers", flag.ContinueOnError)
	// Parse errors are returned, and reported on one line by main; only -h
	// prints the usage.
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", ":8080", "public listen address")
	fs.StringVar(&c.admin, "admin", "127.0.0.1:6060", "admin listen address for /metrics, /debug/late-trace and /debug/pprof/; empty disables")
	fs.DurationVar(&c.budget, "budget", 500*time.Millisecond, "hard latency budget of an answer, from the request's arrival (see -kernel-arrival); a caller may ask for less with grpc-timeout or x-envoy-expected-rq-timeout-ms")
	fs.IntVar(&c.maxURLs, "max-urls", 64, "most distinct valid u values per request; more is a 400")
	fs.Var(&c.maxBody, "max-body", "largest upstream body accepted (bytes, or with KiB/MiB/GiB)")
	fs.IntVar(&c.maxConns, "max-conns-per-host", 4096, "keep-alive connections kept per upstream host")
	fs.IntVar(&c.maxInFlight, "max-in-flight", overload.DefaultMaxInFlight, "requests served at once; more are refused with 503 and Retry-After as they arrive; -1 means no limit")
	fs.DurationVar(&c.queueLimit, "queue-limit", overload.DefaultQueueLimit, "refuse with 503 a request that waited longer than this unread in the kernel's socket buffers (known from receive timestamps, see -kernel-arrival); -1ns means no limit")
	fs.Float64Var(&c.busyLimit, "busy-limit", overload.DefaultBusyLimit, "while the machine's CPUs are busier than this share of their time (niced tasks not counted), refuse a growing share of requests with 503 as they arrive; 1 never refuses for it")
	fs.StringVar(&c.kernelArrival, "kernel-arrival", "busy", "on Linux, date a request from when its last bytes reached the host (receive timestamps, SO_TIMESTAMPNS), if before it was read, so that time spent unread in socket buffers counts against the budget and -queue-limit: busy reads the stamps only while the CPUs are busier than three quarters of -busy-limit (reading them costs a tenth of a cached answer), always reads them, never does not")
	fs.DurationVar(&c.margin, "margin", deadline.DefaultMargin.Base, "the safety margin's base: how long before the deadline an answer with few numbers is flushed, for the timer's wake-up and the write (the per-number cost is added, see -calibrate, and the caller's delay, see -max-caller-delay)")
	fs.BoolVar(&c.calibrate, "calibrate", true, "measure encode and write cost at start to size the safety margin (false: built-in constants)")
	fs.DurationVar(&c.callerDelay, "max-caller-delay", deadline.DefaultMaxDelay, "what is kept back before the deadline, beyond the margin, for a caller on a busy machine to read its answer: this times the machine's CPU pressure; -1ns keeps nothing back")
	fs.Var(&c.memoryLimit, "memory-limit", "soft memory limit of the Go runtime, as GOMEMLIMIT (bytes, or with KiB/MiB/GiB): past it the runtime collects as often as needed to stay under it; 0 leaves the runtime's own setting (none, or GOMEMLIMIT)")
	fs.DurationVar(&c.readTimeout, "read-timeout", 5*time.Second, "time allowed to read a request, headers included")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 5*time.Second, "time allowed to write a response")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 60*time.Second, "keep-alive connections idle longer than this are closed")
	fs.Var(&c.maxHeaderBytes, "max-header-bytes", "largest request line plus headers; larger is a 431 (bytes, or with KiB/MiB)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.BoolVar(&c.accessLog, "access-log", false, "log one line per request (at info level)")
	fs.Func("allow-hosts", "comma-separated upstream host patterns allowed (example.com, *.example.com); empty allows any", listFlag(&c.allowHosts, guard.ParsePatterns))
	fs.Func("deny-hosts", "comma-separated upstream host patterns refused, even if allowed", listFlag(&c.denyHosts, guard.ParsePatterns))
	fs.Func("allow-nets", "comma-separated CIDRs upstream addresses must be in; empty allows any not denied", listFlag(&c.allowNets, guard.ParsePrefixes))
	fs.Func("deny-nets", "comma-separated CIDRs upstream addresses must not be in, checked on the address dialled (default "+guard.DefaultDenyNetsCSV+"; \"none\" denies none)", listFlag(&c.denyNets, parseDenyNets))
	fs.Var(&c.cacheBytes, "cache-bytes", "size of the upstream response cache (bytes, or with KiB/MiB/GiB); 0 disables caching")
	fs.DurationVar(&c.maxStale, "max-stale", time.Hour, "how long past freshness a cached result may stand in for a failed or late upstream, where its Cache-Control allows")
	fs.DurationVar(&c.lateBudget, "late-budget", 5*time.Second, "how long a fetch may go on after its answer was sent, to fill the cache; 0 turns background completion off")
	fs.IntVar(&c.maxLate, "max-late", 1024, "fetches allowed to go on in the background at once")
	fs.BoolVar(&c.coalesce, "coalesce", true, "share one upstream fetch among concurrent requests for the same URL; turn off for upstreams that must be fetched per request")
	fs.BoolVar(&c.lateTrace, "late-trace", false, "keep the last seconds of the Go execution trace in memory (a flight recorder) and snapshot them when an answer is late, for GET /debug/late-trace on -admin; off without -admin")
	fs.DurationVar(&c.lateTraceWindow, "late-trace-window", 5*time.Second, "how far back a late-answer trace reaches, unless -late-trace-bytes cuts it shorter")
	fs.Var(&c.lateTraceBytes, "late-trace-bytes", "memory bound of the trace window (bytes, or with KiB/MiB/GiB); a snapshot over twice this is discarded")
	fs.DurationVar(&c.lateTraceInterval, "late-trace-interval", time.Minute, "at most one late-answer trace per interval; later late answers are only counted")
	fs.DurationVar(&c.jobBudget, "job-budget", 30*time.Second, "budget of a job (POST /jobs without budget=, and GET /numbers with Prefer: respond-async)")
	fs.DurationVar(&c.maxJobBudget, "max-job-budget", 5*time.Minute, "largest budget= a caller may ask of POST /jobs; more is a 400")
	fs.IntVar(&c.maxJobs, "max-jobs", 10000, "most jobs held, running and finished; when full, POST /jobs is a 503")
	fs.Var(&c.maxJobBytes, "max-job-bytes", "memory bound of the jobs held, numbers and event logs (bytes, or with KiB/MiB/GiB); when over it, POST /jobs is a 503")
	fs.DurationVar(&c.jobTTL, "job-ttl", time.Hour, "how long a finished job is kept")
	fs.DurationVar(&c.ssePing, "sse-ping", 15*time.Second, "a silent event stream gets a ': ping' comment after this long, to keep it alive through proxies")
	addHealthFlags(fs, &c.health)
	addRedisFlags(fs, &c.redis)
	addTracingFlags(fs, &c.tracing)
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(usageOut)
		fmt.Fprintf(usageOut, "numbers: merges the integers of many upstream URLs, sorted and unique, within a hard budget.\n\n"+
			"Usage: numbers [flags]\n\nEvery flag has an environment twin: -max-urls is %s.\n\nFlags:\n", envName("max-urls"))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !set[f.Name] && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), e)
			}
		}
	})
	if err != nil {
		return c, err
	}
	if err := c.health.validate(); err != nil {
		return c, err
	}
	if err := c.redis.validate(); err != nil {
		return c, err
	}
	if err := c.tracing.resolve(getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

// validate rejects values and combinations the service cannot run with.
func (c config) validate() error {
	switch {
	case c.margin <= 0:
		return fmt.Errorf("-margin must be positive, got %v", c.margin)
	case c.budget < 2*c.margin:
		return fmt.Errorf("-budget %v is too small: at least %v, twice the %v safety margin (-margin)", c.budget, 2*c.margin, c.margin)
	case c.maxURLs < 1:
		return fmt.Errorf("-max-urls must be at least 1, got %d", c.maxURLs)
	case c.maxBody < 1:
		return errors.New("-max-body must be positive")
	case c.maxConns < 1:
		return fmt.Errorf("-max-conns-per-host must be at least 1, got %d", c.maxConns)
	case c.maxInFlight == 0 || c.maxInFlight < -1:
		return fmt.Errorf("-max-in-flight must be positive, or -1 for no limit, got %d", c.maxInFlight)
	case c.queueLimit == 0:
		return errors.New("-queue-limit must be positive, or negative for no limit")
	case c.kernelArrival != "busy" && c.kernelArrival != "always" && c.kernelArrival != "never":
		return fmt.Errorf("-kernel-arrival must be busy, always or never, got %q", c.kernelArrival)
	case c.busyLimit <= 0 || c.busyLimit > 1:
		return fmt.Errorf("-busy-limit must be in (0, 1], got %g", c.busyLimit)
	case c.callerDelay == 0:
		return errors.New("-max-caller-delay must be positive, or negative to keep nothing back")
	case c.readTimeout <= 0 || c.writeTimeout <= 0 || c.idleTimeout <= 0:
		return errors.New("-read-timeout, -write-timeout and -idle-timeout must be positive")
	case c.writeTimeout < c.budget:
		return fmt.Errorf("-write-timeout %v is shorter than -budget %v", c.writeTimeout, c.budget)
	case c.maxHeaderBytes < 4<<10:
		return fmt.Errorf("-max-header-bytes must be at least 4KiB, got %d", c.maxHeaderBytes)
	case c.logFormat != "text" && c.logFormat != "json":
		return fmt.Errorf("-log-format must be text or json, got %q", c.logFormat)
	case c.maxStale < 0 || c.lateBudget < 0:
		return errors.New("-max-stale and -late-budget must not be negative")
	case c.maxLate < 1:
		return fmt.Errorf("-max-late must be at least 1, got %d", c.maxLate)
	case c.lateTraceWindow <= 0 || c.lateTraceInterval <= 0:
		return errors.New("-late-trace-window and -late-trace-interval must be positive")
	case c.lateTraceBytes < 1<<20:
		return fmt.Errorf("-late-trace-bytes must be at least 1MiB, got %d", c.lateTraceBytes)
	case c.jobBudget <= 0 || c.maxJobBudget < c.jobBudget:
		return fmt.Errorf("-job-budget must be positive and at most -max-job-budget (%v), got %v", c.maxJobBudget, c.jobBudget)
	case c.maxJobs < 1 || c.maxJobBytes < 1:
		return errors.New("-max-jobs and -max-job-bytes must be positive")
	case c.jobTTL <= 0 || c.ssePing <= 0:
		return errors.New("-job-ttl and -sse-ping must be positive")
	case c.admin != "" && c.admin == c.addr && !strings.HasSuffix(c.addr, ":0"):
		return fmt.Errorf("-admin and -addr must differ: pprof must never be on the public listener")
	}
	return nil
}

// listFlag returns a flag.Func setter that parses a comma-separated list.
func listFlag[T any](dst *[]T, parse func(string) ([]T, error)) func(string) error {
	return func(s string) error {
		v, err := parse(s)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// parseDenyNets parses -deny-nets, where "none" is the explicit empty list.
func parseDenyNets(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "none" {
		return []netip.Prefix{}, nil
	}
	return guard.ParsePrefixes(s)
}

// byteSize is a flag value of bytes, written plain or with a binary unit.
type byteSize int

func (b *byteSize) String() string { return strconv.Itoa(int(*b)) }

// Set parses "8388608", "8MiB", "64KiB", "1GiB" (also KB/MB/GB, read as binary).
func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}}
	mult := 1
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > (1<<40)/mult {
		return errors.New("want bytes like 8388608 or 8MiB")
	}
	*b = byteSize(n * mult)
	return nil
}
