package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// adminServer serves /metrics and Go's pprof handlers on the admin address,
// a listener of its own so that neither is ever reachable on the public one.
type adminServer struct {
	addr string
	srv  *http.Server
}

// startAdmin listens on addr and serves metrics and pprof in the background.
func startAdmin(addr string, metrics http.Handler, log *slog.Logger) (*adminServer, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &adminServer{
		addr: ln.Addr().String(),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
	}
	go func() {
		if err := a.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("admin listener failed", "err", err)
		}
	}()
	return a, nil
}

// close stops the admin listener, giving open scrapes a moment to finish.
func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.srv.Shutdown(ctx) //nolint:errcheck // best effort at exit
}
