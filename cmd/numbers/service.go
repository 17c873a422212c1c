package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/cache"
	"numbers/deadline"
	"numbers/fetcher"
	"numbers/forensics"
	"numbers/guard"
	"numbers/handler"
	"numbers/jobs"
	"numbers/overload"
	"numbers/pressure"
	"numbers/source"
	"numbers/telemetry"
)

// service is the wired request path: guard, fetcher, cache, source,
// admission, handler and the metrics that watch them.
type service struct {
	handler   *handler.Handler
	metrics   *telemetry.Metrics
	lateTrace *forensics.Recorder // nil unless -late-trace (with -admin)
	margin    deadline.Margin
	overload  *overload.Controller
	handle    fasthttp.RequestHandler
	stop      []func() // what close stops, in order
}

// close stops what the service started besides its requests (the flight
// recorder, the shedder's watch, the health registry's sweeper); call it
// after the server has shut down.
func (s *service) close() {
	for _, stop := range s.stop {
		stop()
	}
}

// newService wires the parts as cfg says.
func newService(cfg config) (*service, error) {
	dialer, err := guard.New(guard.Policy{
		AllowHosts: cfg.allowHosts, DenyHosts: cfg.denyHosts,
		AllowNets: cfg.allowNets, DenyNets: cfg.denyNets,
	}, guard.NewResolver("")) // releases a DNS query's socket at its deadline
	if err != nil {
		return nil, err
	}
	tracer, stopTracing, err := cfg.tracing.start(cfg.writeTimeout)
	if err != nil {
		return nil, err
	}
	client := fetcher.New(fetcher.Config{
		MaxBodyBytes:    int(cfg.maxBody),
		MaxConnsPerHost: cfg.maxConns,
		UserAgent:       "numbers/" + version,
		DialTimeout:     dialer.DialTimeout,
		AllowHost:       dialer.AllowHost,
		Propagator:      tracer.Propagator(),
	})
	metrics := telemetry.New(cfg.budget)
	var stop []func()
	lateTrace, observer, err := startLateTrace(cfg, metrics)
	if err != nil {
		if stopTracing != nil {
			stopTracing()
		}
		return nil, err
	}
	if lateTrace != nil {
		stop = append(stop, lateTrace.Stop)
	}

	var store *cache.Cache
	if cfg.cacheBytes > 0 {
		maxStale := cfg.maxStale
		if maxStale == 0 {
			maxStale = -1 // only stale-if-error windows
		}
		store = cache.New(cache.Config{MaxBytes: int64(cfg.cacheBytes), MaxStale: maxStale})
		metrics.WatchCache(store)
	}
	srcCfg := source.Config{
		Fetcher:    client,
		Cache:      store,
		Coalesce:   cfg.coalesce,
		LateBudget: cfg.lateBudget,
		MaxLate:    int64(cfg.maxLate),
		Fetched:    metrics.Fetched,
		Tracer:     tracer.Tracer(),
	}
	shared, err := openShared(cfg.redis, &srcCfg, metrics)
	if err != nil {
		return nil, err
	}
	if reg, stopSweeper := cfg.health.wire(&srcCfg); reg != nil {
		stop = append(stop, stopSweeper)
		metrics.WatchHealth(reg)
	}
	src := source.New(srcCfg)
	metrics.WatchSource(&src.Stats)
	metrics.WatchTailCutting(&src.Stats, srcCfg.Budget)

	margin := deadline.DefaultMargin
	if cfg.calibrate {
		margin = deadline.Calibrate()
	}
	margin.Base = cfg.margin
	cpu := pressure.New(pressure.Config{Interval: 50 * time.Millisecond, Smoothing: 0.25})
	planner := deadline.New(deadline.Config{Margin: margin, Pressure: cpu.CPU, MaxDelay: cfg.callerDelay})
	ctl := overload.New(overload.Config{Busy: cpu.Busy, BusyLimit: cfg.busyLimit,
		QueueLimit: cfg.queueLimit, MaxInFlight: cfg.maxInFlight})
	metrics.WatchOverload(cpu.CPU, cpu.Busy, ctl.Share, planner.Delay)
	runner, hub, stopStore := newJobs(cfg, src, shared)
	h := handler.New(handler.Config{
		Source:   src,
		Budget:   cfg.budget,
		MaxURLs:  cfg.maxURLs,
		Planner:  planner,
		Overload: ctl,
		Observer: observer,
		Jobs:     runner,
		Hub:      hub,
		Tracer:   tracer,
	})
	metrics.WatchInFlight(h.InFlight)
	metrics.WatchJobs(runner.Store().Stats, &hub.Stats)
	stop = append(stop, func() { stopJobs(runner, hub, cfg.writeTimeout) }, stopStore, shared.close)

	if stopTracing != nil {
		stop = append(stop, stopTracing) // last: the jobs' fetches end their spans first
	}

	handle := metrics.Wrap(h.Handle)
	if cfg.accessLog {
		handle = accessLog(handle, newLogger(cfg))
	}
	return &service{handler: h, metrics: metrics, lateTrace: lateTrace, margin: margin, overload: ctl, handle: handle, stop: stop}, nil
}

// newJobs returns the job runner, over an embedded store or, with -redis,
// the shared one, the hub that streams the jobs' events, and what stops the
// store's goroutines.
func newJobs(cfg config, src jobs.Source, sh shared) (*jobs.Runner, *jobs.Hub, func()) {
	// The store tells the runner of the jobs it lost, from its own goroutine:
	// the runner is made after the store, so it is handed over atomically.
	var made atomic.Pointer[jobs.Runner]
	redisJobs := sh.jobStore(cfg, func(id string) {
		if r := made.Load(); r != nil {
			r.Cancel(id) //nolint:errcheck // the job is over either way
		}
	})
	store := storeOf(redisJobs, jobs.NewMemStore(jobs.MemConfig{MaxJobs: cfg.maxJobs, MaxBytes: int64(cfg.maxJobBytes), TTL: cfg.jobTTL}))
	runner := jobs.NewRunner(jobs.RunnerConfig{Source: src, Store: store, Budget: cfg.jobBudget, MaxBudget: cfg.maxJobBudget})
	made.Store(runner)
	hub := jobs.NewHub(jobs.HubConfig{Store: store, Ping: cfg.ssePing, WriteTimeout: cfg.writeTimeout})
	stopStore := func() {}
	if redisJobs != nil {
		stopStore = redisJobs.Close
	}
	return runner, hub, stopStore
}

// stopJobs ends the event streams (each gets a final comment, within the
// write timeout, then is closed) and cancels the jobs still running.
func stopJobs(runner *jobs.Runner, hub *jobs.Hub, drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	hub.Shutdown(ctx) //nolint:errcheck // past the drain time it closes what is left
	runner.Close()
}

// adminRoutes returns the service's handlers on the admin listener, by path.
func (s *service) adminRoutes() map[string]http.Handler {
	routes := map[string]http.Handler{"/metrics": s.metrics.Handler()}
	if s.lateTrace != nil {
		routes["/debug/late-trace"] = s.lateTrace
	}
	return routes
}

// startLateTrace starts the flight recorder that -late-trace asks for and
// returns it with the handler's Observer, which feeds it late answers. With
// -late-trace off, or no admin listener to fetch a trace from, it returns no
// recorder and metrics as the Observer.
func startLateTrace(cfg config, metrics *telemetry.Metrics) (*forensics.Recorder, handler.Observer, error) {
	if !cfg.lateTrace || cfg.admin == "" {
		return nil, metrics, nil
	}
	rec, err := forensics.Start(forensics.Config{
		Window:   cfg.lateTraceWindow,
		MaxBytes: int64(cfg.lateTraceBytes),
		Interval: cfg.lateTraceInterval,
	})
	if err != nil {
		return nil, nil, err
	}
	metrics.WatchLateTraces(&rec.Stats)
	return rec, lateTracing{Observer: metrics, rec: rec}, nil
}

// lateTracing is the handler's Observer while late answers are traced: every
// call reaches the metrics, and a late answer also asks rec for a trace.
type lateTracing struct {
	handler.Observer
	rec *forensics.Recorder
}

// Answered records the answer, then asks for a trace if it was late.
func (o lateTracing) Answered(elapsed time.Duration, partial, late bool) {
	o.Observer.Answered(elapsed, partial, late)
	if late {
		o.rec.Late(elapsed)
	}
}

// accessLog returns next, logging one line per request after it is answered.
// It is only installed when -access-log is on, so it costs nothing when off.
func accessLog(next fasthttp.RequestHandler, log *slog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("method", string(ctx.Method())),
			slog.String("uri", string(ctx.RequestURI())),
			slog.Int("status", ctx.Response.StatusCode()),
			slog.Int("bytes", len(ctx.Response.Body())),
			slog.Duration("elapsed", time.Since(ctx.Time())),
			slog.String("remote", ctx.RemoteAddr().String()),
			slog.String("outcomes", string(ctx.Response.Header.Peek("X-Numbers-Outcomes"))),
		)
	}
}
