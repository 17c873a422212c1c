// Command numbers runs the numbers service: GET /numbers?u=URL&u=URL fetches
// every URL in parallel and answers, within a hard budget, with the sorted,
// de-duplicated union of the integers they returned. It maps its flags and
// their environment twins onto a service.Config (package service) and runs
// the service until SIGINT or SIGTERM, then drains it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.opentelemetry.io/otel"

	"numbers/service"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	o, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err == nil {
		err = o.svc.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "numbers: %v\n", err)
		os.Exit(2)
	}
	log := newLogger(o)
	if err := run(o, log); err != nil {
		log.Error("numbers stopped", "err", err)
		os.Exit(1)
	}
}

// newLogger returns the process logger in the configured format and level.
func newLogger(o options) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.logLevel}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// run serves until SIGINT or SIGTERM, then drains and returns.
func run(o options, log *slog.Logger) error {
	// What the OpenTelemetry SDK cannot do (an export that failed) is
	// logged, not printed.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	service.SetMemoryLimit(o.memoryLimit)
	cfg := o.svc
	cfg.Log, cfg.Version = log, version
	svc, err := service.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return svc.Run(ctx)
}
