package service

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"numbers/status"
)

// adminServer serves /metrics, the status page, the latest late-answer trace and Go's pprof
// handlers on the admin address, a listener of its own so that none is ever
// reachable on the public one.
type adminServer struct {
	addr string
	srv  *http.Server
}

// startAdmin listens on addr and serves routes and pprof in the background.
func startAdmin(addr string, routes map[string]http.Handler, log *slog.Logger) (*adminServer, error) {
	mux := adminMux(routes)
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

// adminMux serves routes (path to handler) and Go's pprof handlers.
func adminMux(routes map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for path, h := range routes {
		mux.Handle(path, h)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// adminRoutes returns the service's handlers on the admin listener, by
// path: the metrics, the status page and, if on, the late-answer trace.
func (s *Service) adminRoutes() map[string]http.Handler {
	s.status = status.New(status.Config{Metrics: s.metrics.Gatherer(), Jobs: s.runner, Margin: s.margin.Base,
		PublicPort: s.public.Addr().(*net.TCPAddr).Port})
	routes := s.status.Routes()
	routes["/metrics"] = s.metrics.Handler()
	if s.lateTrace != nil {
		routes["/debug/late-trace"] = s.lateTrace
	}
	return routes
}

// close stops the admin listener, giving open scrapes a moment to finish.
func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.srv.Shutdown(ctx) //nolint:errcheck // best effort at exit
}
