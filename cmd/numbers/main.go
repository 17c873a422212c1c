// Command numbers runs the numbers service: GET /numbers?u=URL&u=URL fetches
// every URL in parallel and answers, within a hard budget, with the sorted,
// de-duplicated union of the integers they returned.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel"

	"numbers/handler"
	"numbers/overload"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "numbers: %v\n", err)
		os.Exit(2)
	}
	log := newLogger(cfg)
	if err := run(cfg, log); err != nil {
		log.Error("numbers stopped", "err", err)
		os.Exit(1)
	}
}

// newLogger returns the process logger in the configured format and level.
func newLogger(cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// run serves until SIGINT or SIGTERM, then drains and returns nil.
func run(cfg config, log *slog.Logger) error {
	// What the OpenTelemetry SDK cannot do (an export that failed) is
	// logged, not printed.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	if cfg.memoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.memoryLimit))
	}
	svc, err := newService(cfg)
	if err != nil {
		return err
	}
	defer svc.close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	switch cfg.kernelArrival {
	case "busy":
		ln = overload.Listen(ln, svc.overload.WantsSojourn)
	case "always":
		ln = overload.Listen(ln, func() bool { return true })
	}
	var admin *adminServer
	if cfg.admin != "" {
		if admin, err = startAdmin(cfg.admin, svc.adminRoutes(), log); err != nil {
			ln.Close()
			return err
		}
	}
	logStart(log, cfg, svc, ln.Addr(), admin)

	srv := &fasthttp.Server{
		Handler:            svc.handle,
		ErrorHandler:       handler.HandleError,
		Name:               "numbers",
		ReadTimeout:        cfg.readTimeout,
		WriteTimeout:       cfg.writeTimeout,
		IdleTimeout:        cfg.idleTimeout,
		ReadBufferSize:     int(cfg.maxHeaderBytes),
		MaxRequestBodySize: 4 << 10,
		// A connection holds its read and write buffers only while it
		// reads or writes, not while its request waits for upstreams: with
		// -max-header-bytes of read buffer each, 600 connections held 34
		// MiB of a 100 MiB heap at 1,200 req/s.
		ReduceMemoryUsage:    true,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
		KeepHijackedConns:    true, // job event streams outlive their hijack handler (handler.Config.Hub)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("draining: not ready, finishing in-flight requests")
	svc.handler.Drain()
	err = srv.Shutdown() // stops accepting, waits for in-flight requests
	if admin != nil {
		admin.close()
	}
	if err != nil {
		return err
	}
	log.Info("numbers stopped cleanly")
	return nil
}

// logStart logs the effective configuration once.
func logStart(log *slog.Logger, cfg config, svc *service, addr net.Addr, admin *adminServer) {
	adminAddr := "disabled"
	if admin != nil {
		adminAddr = admin.addr
	}
	log.Info("numbers listening", "addr", addr.String(), "admin", adminAddr, "version", version,
		"budget", cfg.budget, "margin_base", svc.margin.Base, "margin_ns_per_number", svc.margin.PerNumber,
		"max_urls", cfg.maxURLs, "max_body", int(cfg.maxBody), "max_conns_per_host", cfg.maxConns,
		"max_in_flight", cfg.maxInFlight, "queue_limit", cfg.queueLimit, "busy_limit", cfg.busyLimit, "kernel_arrival", cfg.kernelArrival, "max_caller_delay", cfg.callerDelay, "memory_limit", int(cfg.memoryLimit), "read_timeout", cfg.readTimeout, "write_timeout", cfg.writeTimeout,
		"idle_timeout", cfg.idleTimeout, "max_header_bytes", int(cfg.maxHeaderBytes),
		"allow_hosts", cfg.allowHosts, "deny_hosts", cfg.denyHosts, "allow_nets", cfg.allowNets, "deny_nets", cfg.denyNets,
		"cache_bytes", int(cfg.cacheBytes), "max_stale", cfg.maxStale, "late_budget", cfg.lateBudget,
		"max_late", cfg.maxLate, "coalesce", cfg.coalesce, "access_log", cfg.accessLog,
		"late_trace", svc.lateTrace != nil, "late_trace_window", cfg.lateTraceWindow,
		"late_trace_bytes", int(cfg.lateTraceBytes), "late_trace_interval", cfg.lateTraceInterval,
		"job_budget", cfg.jobBudget, "max_job_budget", cfg.maxJobBudget, "max_jobs", cfg.maxJobs,
		"max_job_bytes", int(cfg.maxJobBytes), "job_ttl", cfg.jobTTL, "sse_ping", cfg.ssePing,
		"health", cfg.health, "redis", cfg.redis, "tracing", cfg.tracing, "log_format", cfg.logFormat, "log_level", cfg.logLevel.String())
}
