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
	"syscall"

	"github.com/valyala/fasthttp"

	"numbers/fetcher"
	"numbers/handler"
	"numbers/source"
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
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(cfg, log); err != nil {
		log.Error("numbers stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM, then drains and returns.
func run(cfg config, log *slog.Logger) error {
	margin := handler.DefaultMargin
	if cfg.calibrate {
		margin = handler.Calibrate()
	}
	client := fetcher.New(fetcher.Config{
		MaxBodyBytes:    int(cfg.maxBody),
		MaxConnsPerHost: cfg.maxConns,
		UserAgent:       "numbers/" + version,
	})
	h := handler.New(handler.Config{
		Fetcher:     source.New(client),
		Budget:      cfg.budget,
		MaxURLs:     cfg.maxURLs,
		Margin:      margin,
		MaxInFlight: cfg.maxInFlight,
	})
	srv := &fasthttp.Server{
		Handler:                       h.Handle,
		ErrorHandler:                  handler.HandleError,
		Name:                          "numbers",
		ReadTimeout:                   cfg.readTimeout,
		WriteTimeout:                  cfg.writeTimeout,
		IdleTimeout:                   cfg.idleTimeout,
		ReadBufferSize:                int(cfg.maxHeaderBytes),
		MaxRequestBodySize:            4 << 10,
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	log.Info("numbers listening", "addr", ln.Addr().String(), "version", version,
		"budget", cfg.budget, "max_urls", cfg.maxURLs, "max_body", int(cfg.maxBody),
		"max_conns_per_host", cfg.maxConns, "max_in_flight", cfg.maxInFlight,
		"margin_base", margin.Base, "margin_ns_per_number", margin.PerNumber,
		"read_timeout", cfg.readTimeout, "write_timeout", cfg.writeTimeout,
		"idle_timeout", cfg.idleTimeout, "max_header_bytes", int(cfg.maxHeaderBytes))

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
	h.Drain()
	if err := srv.Shutdown(); err != nil {
		return err
	}
	log.Info("numbers stopped cleanly")
	return nil
}
