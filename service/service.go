// Package service is the numbers service as a library: New wires the
// request path (guard, fetcher, the source chain, overload, the answer
// planner, the handler and the jobs) and the telemetry that watches it,
// from one Config whose zero value is the documented default; Run serves
// the public and the admin listeners until its context ends, and Shutdown
// drains them. Command numbers maps flags and environment onto a Config.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
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
	"numbers/status"
	"numbers/telemetry"
)

// Service is the wired numbers service. Its methods are safe for
// concurrent use.
type Service struct {
	cfg       Config
	log       *slog.Logger
	handler   *handler.Handler
	metrics   *telemetry.Metrics
	lateTrace *forensics.Recorder // nil unless LateTrace.On
	observer  handler.Observer    // the handler's: the metrics, and lateTrace if on
	margin    deadline.Margin
	overload  *overload.Controller
	handle    fasthttp.RequestHandler
	server    *fasthttp.Server
	public    net.Listener
	admin     *adminServer // nil with Admin "off"
	status    *status.Page // the admin listener's status page; nil with Admin "off"
	runner    *jobs.Runner
	stops     []func()      // what Shutdown stops after the listeners, in order
	served    chan struct{} // closed when Run's Serve has returned
	shutdown  sync.Once
	err       error // Shutdown's result
}

// New wires the service as cfg says and opens its listeners; nothing is
// served until Run. A Service that New returned must be shut down.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Log, served: make(chan struct{})}
	if err := s.wire(); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.listen(); err != nil {
		s.stop()
		return nil, err
	}
	s.logStart()
	return s, nil
}

// wire builds the request path and its telemetry.
func (s *Service) wire() error {
	cfg := s.cfg
	dialer, err := guard.New(guard.Policy{
		AllowHosts: cfg.Upstreams.AllowHosts, DenyHosts: cfg.Upstreams.DenyHosts,
		AllowNets: cfg.Upstreams.AllowNets, DenyNets: cfg.Upstreams.DenyNets,
	}, guard.NewResolver("")) // releases a DNS query's socket at its deadline
	if err != nil {
		return err
	}
	tracer, stopTracing, err := startTracing(cfg.Tracing, cfg.Version, cfg.Server.WriteTimeout)
	if err != nil {
		return err
	}
	if stopTracing != nil {
		defer func() { s.stops = append(s.stops, stopTracing) }() // last: the jobs' fetches end their spans first
	}
	client := fetcher.New(fetcher.Config{
		MaxBodyBytes:    int(cfg.Upstreams.MaxBody),
		MaxConnsPerHost: cfg.Upstreams.MaxConnsPerHost,
		UserAgent:       "numbers/" + cfg.Version,
		DialTimeout:     dialer.DialTimeout,
		AllowHost:       dialer.AllowHost,
		Propagator:      tracer.Propagator(),
	})
	s.metrics = telemetry.New(cfg.Budget)
	s.observer, err = s.startLateTrace()
	if err != nil {
		return err
	}

	shared, err := openShared(cfg.Redis, s.metrics)
	if err != nil {
		return err
	}
	var store *cache.Cache
	if cfg.Cache.Bytes > 0 {
		store = cache.New(cache.Config{MaxBytes: cfg.Cache.Bytes, MaxStale: cfg.Cache.MaxStale,
			Shared: shared.level(), SharedWait: cfg.Redis.Lookup})
		s.metrics.WatchCache(store)
	}
	upstream, stopSweeper := newUpstream(cfg.Outliers, client, tracer, s.metrics)
	if stopSweeper != nil {
		s.stops = append(s.stops, stopSweeper)
	}
	srcCfg := source.Config{
		Upstream:      upstream,
		Cache:         store,
		Coalesce:      cfg.Cache.Coalesce.on(true),
		Background:    max(cfg.Cache.Background, 0),
		MaxBackground: int64(cfg.Cache.MaxBackground),
		Fetched:       s.metrics.Fetched,
		Tracer:        tracer.Tracer(),
	}
	src := source.New(srcCfg)
	s.metrics.WatchSource(&src.Stats)

	s.margin = deadline.DefaultMargin
	if cfg.Answer.Calibrate.on(true) {
		s.margin = deadline.Calibrate()
	}
	s.margin.Base = cfg.Answer.Margin
	cpu := pressure.New(pressure.Config{Interval: 50 * time.Millisecond, Smoothing: 0.25})
	planner := deadline.New(deadline.Config{Margin: s.margin, Pressure: cpu.CPU, MaxDelay: cfg.Answer.MaxCallerDelay})
	s.overload = overload.New(overload.Config{Busy: cpu.Busy, BusyNow: cpu.BusyNow, Unread: s.unreadAnswers, BusyLimit: cfg.Overload.BusyLimit,
		LagLimit: cfg.Overload.LagLimit, QueueLimit: cfg.Overload.QueueLimit, MaxInFlight: cfg.Overload.MaxInFlight})
	s.metrics.WatchOverload(cpu.CPU, cpu.Busy, s.overload.Share, s.overload.Lag, planner.Delay)
	runner, hub, stopStore := newJobs(cfg, src, shared)
	s.handler = handler.New(handler.Config{
		Source:   src,
		Budget:   cfg.Budget,
		MaxURLs:  cfg.MaxURLs,
		Planner:  planner,
		Overload: s.overload,
		Observer: s.observer,
		Jobs:     runner,
		Hub:      hub,
		Tracer:   tracer,
		JobView:  status.JobView,
	})
	s.runner = runner
	s.metrics.WatchInFlight(s.handler.InFlight)
	s.metrics.WatchJobs(runner.Store().Stats, &hub.Stats)
	s.stops = append(s.stops, func() { stopJobs(runner, hub, cfg.Server.WriteTimeout) }, stopStore, shared.close)

	s.handle = s.metrics.Wrap(s.handler.Handle)
	if cfg.AccessLog {
		s.handle = accessLog(s.handle, s.log)
	}
	return nil
}

// listen opens the public listener, dated from the kernel's receive stamps
// as Overload.KernelArrival says, and the admin one.
func (s *Service) listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	switch s.cfg.Overload.KernelArrival {
	case "busy":
		ln = overload.Listen(ln, s.overload.WantsSojourn)
	case "always":
		ln = overload.Listen(ln, func() bool { return true })
	}
	s.public = ln
	if s.cfg.Admin != "off" {
		if s.admin, err = startAdmin(s.cfg.Admin, s.adminRoutes(), s.log); err != nil {
			ln.Close()
			return err
		}
	}
	s.server = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       handler.HandleError,
		Name:               "numbers",
		ReadTimeout:        s.cfg.Server.ReadTimeout,
		WriteTimeout:       s.cfg.Server.WriteTimeout,
		IdleTimeout:        s.cfg.Server.IdleTimeout,
		ReadBufferSize:     s.cfg.Server.MaxHeaderBytes,
		MaxRequestBodySize: 4 << 10,
		// A connection holds its read and write buffers only while it
		// reads or writes, not while its request waits for upstreams: with
		// 64 KiB of read buffer each, 600 connections held 34 MiB of a
		// 100 MiB heap at 1,200 req/s.
		ReduceMemoryUsage:    true,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
		KeepHijackedConns:    true, // job event streams outlive their hijack handler (handler.Config.Hub)
	}
	return nil
}

// unreadAnswers is the overload controller's count of the answers that
// callers on this machine have been sent on the public listener and not
// yet read.
func (s *Service) unreadAnswers() (int, bool) {
	a, ok := s.public.Addr().(*net.TCPAddr)
	if !ok {
		return 0, false
	}
	return pressure.UnreadAnswers(a)
}

// Addr is the address of the public listener.
func (s *Service) Addr() net.Addr { return s.public.Addr() }

// AdminAddr is the address of the admin listener, or "" with Admin "off".
func (s *Service) AdminAddr() string {
	if s.admin == nil {
		return ""
	}
	return s.admin.addr
}

// Run serves until ctx ends, then shuts the service down, giving requests
// in flight up to the write timeout to finish. It returns Shutdown's
// result, or why serving failed.
func (s *Service) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() {
		defer close(s.served)
		served <- s.server.Serve(s.public)
	}()
	select {
	case err := <-served:
		s.Shutdown(context.Background()) //nolint:errcheck // serving failed: that is the error
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.WriteTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown drains the service: it reports not ready, stops accepting,
// waits for the requests in flight (until ctx ends), ends the job streams
// and the jobs, then stops what New started. Later calls return the first
// one's result.
func (s *Service) Shutdown(ctx context.Context) error {
	s.shutdown.Do(func() {
		s.log.Info("draining: not ready, finishing in-flight requests")
		s.handler.Drain()
		s.err = s.server.ShutdownWithContext(ctx)
		if s.admin != nil {
			s.status.Stop()
			s.admin.close()
		}
		s.stop()
		if s.err == nil {
			s.log.Info("numbers stopped cleanly")
		}
	})
	return s.err
}

// stop stops what wire started besides the listeners, in order.
func (s *Service) stop() {
	if s.public != nil && s.server == nil {
		s.public.Close()
	}
	for _, stop := range s.stops {
		stop()
	}
	s.stops = nil
}

// SetMemoryLimit applies a soft memory limit to the Go runtime (GOMEMLIMIT)
// when limit is positive; zero leaves the runtime's own setting.
func SetMemoryLimit(limit int64) {
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}

// logStart logs the effective configuration once.
func (s *Service) logStart() {
	c := s.cfg
	admin := s.AdminAddr()
	if admin == "" {
		admin = "off"
	}
	s.log.Info("numbers listening", "addr", s.Addr().String(), "admin", admin, "version", c.Version,
		"budget", c.Budget, "margin_base", s.margin.Base, "margin_ns_per_number", s.margin.PerNumber,
		"max_urls", c.MaxURLs, "upstreams", fmt.Sprintf("%+v", c.Upstreams), "cache", fmt.Sprintf("%+v", c.Cache),
		"answer", fmt.Sprintf("%+v", c.Answer), "overload", fmt.Sprintf("%+v", c.Overload),
		"outliers", fmt.Sprintf("%+v", c.Outliers), "jobs", fmt.Sprintf("%+v", c.Jobs),
		"redis", redactedURL(c.Redis.URL), "server", fmt.Sprintf("%+v", c.Server),
		"late_trace", fmt.Sprintf("%+v", c.LateTrace), "tracing", c.Tracing.On, "access_log", c.AccessLog)
}

// accessLog returns next, logging one line per request after it is answered.
// It is only installed with Config.AccessLog, so it costs nothing when off.
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
