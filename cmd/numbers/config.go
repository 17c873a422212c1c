package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/goccy/go-json"

	"numbers/guard"
	"numbers/service"
)

// options is what the command line and the environment say: the service's
// Config and what the process itself needs.
type options struct {
	svc         service.Config
	logFormat   string
	logLevel    slog.Level
	memoryLimit int64
	tuning      string // the -tuning file, "" for none
}

// envPrefix prefixes the environment twin of every flag.
const envPrefix = "NUMBERS_"

// envName returns the environment twin of a flag name.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// group is a heading of numbers -h and the flags under it.
type group struct {
	title string
	fs    *flag.FlagSet
}

// groups defines every setting on its group's flag set; the last group,
// the tuning settings, is read from the -tuning file, not the command line.
// A zero value is the setting's default throughout (package service), so
// the defaults are said in the usage text and every value starts at zero:
// a non-zero value is one that was given.
func groups(o *options) []group {
	c := &o.svc
	g := func(title string) group { return group{title, flag.NewFlagSet(title, flag.ContinueOnError)} }
	listen, answer, upstream, cache, resil, jobs, scale, diag, tuning :=
		g("Listeners"), g("Answers"), g("Upstreams"), g("Cache"), g("Resilience"), g("Jobs"),
		g("Scale-out"), g("Logs and diagnostics"), g("Tuning (keys of the -tuning file)")

	fs := listen.fs
	fs.StringVar(&c.Addr, "addr", "", "public listen address (default :8080)")
	fs.StringVar(&c.Admin, "admin", "", "admin listen address: /metrics, the status page, /debug/pprof/; off serves none (default 127.0.0.1:6060)")
	fs.StringVar(&o.tuning, "tuning", "", "a JSON file of tuning settings, {\"name\": value}: see the last group")

	fs = answer.fs
	fs.DurationVar(&c.Budget, "budget", 0, "hard latency budget of an answer, from the request's arrival; a caller may ask for less with grpc-timeout or x-envoy-expected-rq-timeout-ms (default 500ms)")
	fs.IntVar(&c.MaxURLs, "max-urls", 0, "most distinct valid u values per request; more is a 400 (default 64)")

	fs = upstream.fs
	fs.Func("allow-hosts", "comma-separated upstream host patterns allowed (example.com, *.example.com); empty allows any", listFlag(&c.Upstreams.AllowHosts, guard.ParsePatterns))
	fs.Func("deny-hosts", "comma-separated upstream host patterns refused, even if allowed", listFlag(&c.Upstreams.DenyHosts, guard.ParsePatterns))
	fs.Func("allow-nets", "comma-separated CIDRs upstream addresses must be in; empty allows any not denied", listFlag(&c.Upstreams.AllowNets, guard.ParsePrefixes))
	fs.Func("deny-nets", "comma-separated CIDRs upstream addresses must not be in, checked on the address dialled; none denies none (default "+guard.DefaultDenyNetsCSV+")", listFlag(&c.Upstreams.DenyNets, parseDenyNets))
	fs.Var(size(&c.Upstreams.MaxBody), "max-body", "largest upstream body accepted, bytes or with KiB/MiB/GiB (default 8MiB)")

	fs = cache.fs
	fs.Var(size(&c.Cache.Bytes), "cache-bytes", "size of the upstream cache, bytes or with KiB/MiB/GiB; off caches nothing (default 64MiB)")
	fs.Var(dur(&c.Cache.MaxStale), "max-stale", "how long past freshness a cached result may stand in for a failed or late upstream, where its Cache-Control allows; off: only stale-if-error (default 1h)")
	fs.Var(switchFlag{&c.Cache.Coalesce}, "coalesce", "share one upstream fetch among concurrent requests for the same URL (default true)")

	fs = resil.fs
	fs.Var(switchFlag{&c.Outliers.Detection}, "outlier-detection", "eject an upstream host that keeps failing: its URLs are answered at once, stale or with outcome ejected; hedging needs it (default true)")
	fs.Var(switchFlag{&c.Outliers.Hedge}, "hedge", "send one more request for a fetch still pending after its host's p95 latency, paid from the retry budget (default true)")
	fs.Var(switchFlag{&c.Outliers.Retry}, "retry", "retry an upstream's fast failure (refused, reset, 502, 503, 504) once if time allows, paid from the retry budget (default true)")

	fs = jobs.fs
	fs.DurationVar(&c.Jobs.Budget, "job-budget", 0, "budget of a job: POST /jobs without budget=, and GET /numbers with Prefer: respond-async (default 30s)")
	fs.IntVar(&c.Jobs.Max, "max-jobs", 0, "most jobs held, running and finished; when full, POST /jobs is a 503 (default 10000)")

	fs = scale.fs
	fs.StringVar(&c.Redis.URL, "redis", "", "share the upstream cache and the jobs with other replicas through this Redis, redis://[user:password@]host:port[/db]; empty: this process alone")

	fs = diag.fs
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.BoolVar(&c.AccessLog, "access-log", false, "log one line per request")
	fs.BoolVar(&c.LateTrace.On, "late-trace", false, "keep the last seconds of the Go execution trace in memory and snapshot them when an answer is late, for GET /debug/late-trace on -admin")
	fs.StringVar(&c.Tracing.URL, "otlp-endpoint", "", "export traces with OTLP over HTTP to this collector, e.g. http://localhost:4318 (/v1/traces is added to a URL without a path); empty: off unless OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set")
	fs.Func("trace-sample", "share of new traces sampled, 0 to 1; a request whose caller sent a traceparent follows its sampled flag (default 0.01, or OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG)", sampleFlag(&c.Tracing.Sampler.Ratio))
	fs.Var(size(&o.memoryLimit), "memory-limit", "soft memory limit of the Go runtime, as GOMEMLIMIT, bytes or with KiB/MiB/GiB; unset leaves the runtime's own (none, or GOMEMLIMIT)")

	fs = tuning.fs
	fs.IntVar(&c.Upstreams.MaxConnsPerHost, "max-conns-per-host", 0, "keep-alive connections kept per upstream host (default 4096)")
	fs.Var(count(&c.Overload.MaxInFlight), "max-in-flight", "requests served at once; more are refused with 503 as they arrive; off: no limit (default 8192)")
	fs.Var(dur(&c.Overload.QueueLimit), "queue-limit", "refuse with 503 a request that waited longer than this unread in the kernel's socket buffers; off: no limit (default 50ms)")
	fs.Var(dur(&c.Overload.LagLimit), "lag-limit", "while callers on this machine read their answers later than this on average, refuse a growing share of requests as they arrive; off: never for it (default 50ms)")
	fs.Float64Var(&c.Overload.BusyLimit, "busy-limit", 0, "while the machine's CPUs are busier than this share of their time, refuse a growing share of requests as they arrive; 1 never refuses for it (default 0.95)")
	fs.StringVar(&c.Overload.KernelArrival, "kernel-arrival", "", "date a request from the kernel's receive stamps: busy (only while the CPUs are busy), always or never (default busy)")
	fs.Var(dur(&c.Answer.Margin), "margin", "the safety margin's base: how long before the deadline an answer with few numbers is flushed (default 15ms)")
	fs.Var(switchFlag{&c.Answer.Calibrate}, "calibrate", "measure encode and write cost at start to size the per-number margin (default true)")
	fs.Var(dur(&c.Answer.MaxCallerDelay), "max-caller-delay", "kept back before the deadline, times the machine's CPU pressure, for a caller on a busy machine; off keeps nothing back (default 80ms)")
	fs.Var(dur(&c.Cache.Background), "background", "how long a fetch may go on after its answer was sent, to fill the cache; off ends fetches with their answer (default 5s)")
	fs.IntVar(&c.Cache.MaxBackground, "max-background", 0, "fetches allowed to go on in the background at once (default 1024)")
	fs.Var(count(&c.Outliers.Failures), "outlier-failures", "failures in a row (with no success for 200ms) that eject a host; off never ejects on a run (default 5)")
	fs.Var(number(&c.Outliers.FailureRate), "outlier-failure-rate", "share of failures among at least 50 results in 10s that ejects a host; off never ejects on the rate (default 0.85)")
	fs.Var(dur(&c.Outliers.Ejection), "outlier-ejection", "first ejection time of a host; it doubles with each ejection (default 1s)")
	fs.Var(dur(&c.Outliers.MaxEjection), "outlier-max-ejection", "longest ejection time (default 30s)")
	fs.Var(dur(&c.Outliers.ProbeInterval), "outlier-probe-interval", "how often an ejected host past its ejection time gets one trial request (default 1s)")
	fs.IntVar(&c.Outliers.MaxEjectedPercent, "outlier-max-ejected-percent", 0, "most hosts ejected at once, in percent of those tracked once 10 are; 100: no bound (default 50)")
	fs.IntVar(&c.Outliers.MaxHosts, "outlier-max-hosts", 0, "upstream hosts tracked at most (default 10000)")
	fs.Float64Var(&c.Outliers.RetryShare, "retry-budget", 0, "hedges and retries allowed, as a share of upstream requests (default 0.1)")
	fs.Var(number(&c.Outliers.RetryMinPerSecond), "retry-budget-min", "hedges and retries allowed per second whatever the requests; off: none (default 10)")
	fs.DurationVar(&c.Jobs.MaxBudget, "max-job-budget", 0, "largest budget= a caller may ask of POST /jobs (default 5m)")
	fs.Var(size(&c.Jobs.MaxBytes), "max-job-bytes", "memory bound of the jobs held (default 256MiB)")
	fs.DurationVar(&c.Jobs.TTL, "job-ttl", 0, "how long a finished job is kept (default 1h)")
	fs.DurationVar(&c.Jobs.Ping, "sse-ping", 0, "a silent event stream gets a ': ping' comment after this long (default 15s)")
	fs.DurationVar(&c.Jobs.MaxStream, "sse-max", 0, "an event stream is closed after this long and its client reconnects with Last-Event-ID (default 10m)")
	fs.DurationVar(&c.Redis.Lookup, "redis-lookup", 0, "with -redis: longest a look-up in the shared cache may take on the request path (default 20ms)")
	fs.DurationVar(&c.Redis.Timeout, "redis-timeout", 0, "with -redis: longest any other Redis command may take (default 1s)")
	fs.DurationVar(&c.Redis.JobLease, "job-lease", 0, "with -redis: a running job's lease; a job whose replica stopped renewing it this long is ended by another (default 5s)")
	fs.DurationVar(&c.Server.ReadTimeout, "read-timeout", 0, "time allowed to read a request (default 5s)")
	fs.DurationVar(&c.Server.WriteTimeout, "write-timeout", 0, "time allowed to write a response (default 5s)")
	fs.DurationVar(&c.Server.IdleTimeout, "idle-timeout", 0, "keep-alive connections idle longer are closed (default 60s)")
	fs.Var(intSize(&c.Server.MaxHeaderBytes), "max-header-bytes", "largest request line plus headers; larger is a 431 (default 64KiB)")
	fs.DurationVar(&c.LateTrace.Window, "late-trace-window", 0, "with -late-trace: how far back a trace reaches (default 5s)")
	fs.Var(size(&c.LateTrace.MaxBytes), "late-trace-bytes", "with -late-trace: memory bound of the trace window (default 16MiB)")
	fs.DurationVar(&c.LateTrace.Interval, "late-trace-interval", 0, "with -late-trace: at most one trace per interval (default 1m)")

	return []group{listen, answer, upstream, cache, resil, jobs, scale, diag, tuning}
}

// parseConfig parses args (without the program name) and the environment.
// A flag given on the command line wins over its environment twin; the
// tuning settings come from the -tuning file only.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (options, error) {
	var o options
	gs := groups(&o)
	cmd := flag.NewFlagSet("numbers", flag.ContinueOnError)
	cmd.SetOutput(io.Discard) // errors are returned, and reported on one line by main
	for _, g := range gs[:len(gs)-1] {
		g.fs.VisitAll(func(f *flag.Flag) { cmd.Var(f.Value, f.Name, f.Usage) })
	}
	if err := cmd.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(usageOut, gs)
		}
		return o, err
	}
	if cmd.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", cmd.Arg(0))
	}
	set := map[string]bool{}
	cmd.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	cmd.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !set[f.Name] && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), e)
			}
			set[f.Name] = true
		}
	})
	if err != nil {
		return o, err
	}
	if o.tuning != "" {
		if err := readTuning(o.tuning, gs[len(gs)-1].fs); err != nil {
			return o, err
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("-log-format must be text or json, got %q", o.logFormat)
	}
	return o, resolveTracing(&o.svc.Tracing, set["trace-sample"], getenv)
}

// readTuning sets the tuning settings that the JSON object in file names,
// with fs's parsers: {"max-in-flight": 4096, "queue-limit": "20ms"}.
func readTuning(file string, fs *flag.FlagSet) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("-tuning: %w", err)
	}
	var settings map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&settings); err != nil {
		return fmt.Errorf("-tuning %s: want a JSON object of settings: %w", file, err)
	}
	for name, raw := range settings {
		if fs.Lookup(name) == nil {
			return fmt.Errorf("-tuning %s: %q is not a tuning setting (numbers -h lists them)", file, name)
		}
		v := string(raw)
		if s, err := strconv.Unquote(v); err == nil {
			v = s
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("-tuning %s: %s: %w", file, name, err)
		}
	}
	return nil
}

// usage prints numbers -h: a screen per group.
func usage(w io.Writer, gs []group) {
	fmt.Fprintf(w, "numbers: merges the integers of many upstream URLs, sorted and unique, within a hard budget.\n\n"+
		"Usage: numbers [flags]\n\nEvery flag has an environment twin (-max-urls is %s); a value left out, or 0,\n"+
		"is the default; off turns a setting off where it says so.\n", envName("max-urls"))
	for _, g := range gs {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		g.fs.SetOutput(w)
		g.fs.PrintDefaults()
	}
}
