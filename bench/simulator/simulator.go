// Package simulator plays the HTTP upstreams that the numbers service fetches: the
// classic challenge endpoints (/primes, /fibo, /odd, /rand), a generic /numbers endpoint and any
// named endpoint from a config, each shaped per request by query parameters (payload, latency
// distribution, failures such as resets, hangs, trickled, truncated, malformed or huge bodies,
// redirects, caching headers). It is deterministic given a seed, counts requests per path for
// tests (/stats), and serves its default instant case from cached bodies without allocating, so
// that it is never the bottleneck of a benchmark.
package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrBadConfig reports an invalid endpoints config.
var ErrBadConfig = errors.New("simulator: bad config")

// Config configures a Server.
type Config struct {
	// Seed makes payloads and random decisions deterministic. Zero: seeded from the clock.
	// A request's own `seed` parameter overrides it for that request.
	Seed int64
	// Endpoints adds named endpoints: path (starting with '/') -> default behaviour, which a
	// request's query parameters override. A path may replace a built-in route except /stats and
	// /stats/reset. Nil: only the built-in routes.
	Endpoints map[string]Params
}

// Server is the simulator. Create it with New or Start.
type Server struct {
	routes   map[string]*route // read-only after New
	srv      *fasthttp.Server
	ctx      context.Context // canceled by Shutdown: ends delays, hangs and trickles
	cancel   context.CancelFunc
	seed     int64 // payload seed
	seeded   bool  // Config.Seed != 0: latency draws from a PCG keyed by seed and counter
	draws    atomic.Uint64
	down     atomic.Bool // an outage: every route request hangs (SetDown)
	cache    bodyCache
	notFound atomic.Uint64

	mu      sync.Mutex
	closed  bool
	lns     []net.Listener
	hijacks sync.WaitGroup // hijacked connections being served
	serving sync.WaitGroup // Start's Serve goroutine
}

type route struct {
	params Params
	count  atomic.Uint64
}

// Classic returns the default Params of a classic challenge route ("/primes", "/fibo", "/odd",
// "/rand"): its fixed list under the key "Numbers", uniform 0-550ms delay, 503 one time in ten.
// ok is false for any other path.
func Classic(path string) (p Params, ok bool) {
	ids := map[string]uint8{"/primes": 1, "/fibo": 2, "/odd": 3, "/rand": 4}
	id, ok := ids[path]
	if !ok {
		return Params{}, false
	}
	p = defaultParams()
	p.fixed, p.key = id, "Numbers"
	p.dist, p.lo, p.hi = distUniform, 0, 550*time.Millisecond
	p.fail = 0.1
	return p, true
}

// New returns a Server for cfg; it serves nothing until Serve.
func New(cfg Config) *Server {
	s := &Server{routes: map[string]*route{}, seed: cfg.Seed, seeded: cfg.Seed != 0}
	if cfg.Seed == 0 {
		s.seed = time.Now().UnixNano()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, path := range []string{"/primes", "/fibo", "/odd", "/rand"} {
		p, _ := Classic(path)
		s.routes[path] = &route{params: p}
	}
	s.routes["/numbers"] = &route{params: defaultParams()}
	for path, p := range cfg.Endpoints {
		if path == "/stats" || path == "/stats/reset" {
			continue
		}
		if !p.valid {
			p = defaultParams()
		}
		s.routes[path] = &route{params: p}
	}
	s.srv = &fasthttp.Server{
		Handler:         s.handle,
		Name:            "numbers-upstream-simulator",
		CloseOnShutdown: true,
		IdleTimeout:     time.Minute,
		// fasthttp's idle-worker cleaner sleeps this long between checks and only notices Shutdown
		// after waking: keep it short so that no goroutine outlives Shutdown for long.
		MaxIdleWorkerDuration: 100 * time.Millisecond,
		Logger:                nopLogger{},
	}
	return s
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// Serve serves connections from ln until Shutdown, then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if err != nil && !closed {
		return fmt.Errorf("simulator: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, ends every pending delay, hang and trickle, waits for
// in-flight responses and returns. It is safe to call more than once.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	s.closed = true
	lns := s.lns
	s.lns = nil
	s.mu.Unlock()
	s.cancel()
	for _, ln := range lns {
		ln.Close() // fasthttp closes them too; this covers a Serve that has not registered yet
	}
	err := s.srv.Shutdown()
	s.hijacks.Wait()
	s.serving.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("simulator: shutdown: %w", err)
	}
	return nil
}

// Start listens on addr (such as "127.0.0.1:0"), serves in a goroutine until Shutdown and returns
// the server with its base URL "http://HOST:PORT".
func Start(cfg Config, addr string) (*Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("simulator: listen: %w", err)
	}
	s := New(cfg)
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = s.Serve(ln) // only fails if the listener breaks; Shutdown is the way to stop
	}()
	return s, "http://" + ln.Addr().String(), nil
}

// ParseEndpoints parses an endpoints config: a JSON object mapping paths to query strings, such as
// {"/slow": "dist=lognormal&p50=100ms&p99=900ms"}. Errors wrap ErrBadConfig (and ErrBadParam).
func ParseEndpoints(data []byte) (map[string]Params, error) {
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: want a JSON object of path -> query string: %w", ErrBadConfig, err)
	}
	out := make(map[string]Params, len(raw))
	for path, q := range raw {
		if len(path) == 0 || path[0] != '/' || path == "/stats" || path == "/stats/reset" {
			return nil, fmt.Errorf("%w: path %q: want /name, not /stats", ErrBadConfig, path)
		}
		p, err := ParseParams(q)
		if err != nil {
			return nil, fmt.Errorf("%w: path %q: %w", ErrBadConfig, path, err)
		}
		out[path] = p
	}
	return out, nil
}

// SetDown starts (true) or ends (false) an outage: while down, every request
// to a route is accepted and never answered, as mode=hang, whatever its
// parameters; /stats still answers. A host that is down and then back is
// what passive health must eject and then bring back.
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// Paths returns the served routes (built-in and configured), sorted.
func (s *Server) Paths() []string {
	paths := make([]string, 0, len(s.routes))
	for p := range s.routes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	rt := s.routes[string(ctx.Path())]
	if rt == nil {
		s.handleOther(ctx)
		return
	}
	rt.count.Add(1)
	if s.down.Load() {
		s.hang(ctx)
		return
	}
	p := rt.params
	if err := p.apply(ctx.QueryArgs()); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	s.serve(ctx, &p)
}

func (s *Server) handleOther(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/stats":
		paths := make(map[string]uint64, len(s.routes))
		var total uint64
		for path, r := range s.routes {
			n := r.count.Load()
			paths[path] = n
			total += n
		}
		body, _ := json.Marshal(struct {
			Paths    map[string]uint64 `json:"paths"`
			Total    uint64            `json:"total"`
			NotFound uint64            `json:"notFound"`
		}{paths, total, s.notFound.Load()})
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	case "/stats/reset":
		for _, r := range s.routes {
			r.count.Store(0)
		}
		s.notFound.Store(0)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"reset":true}`)
	default:
		s.notFound.Add(1)
		writeError(ctx, fasthttp.StatusNotFound, "simulator: no route "+string(ctx.Path())+
			"; try /numbers, /primes, /fibo, /odd, /rand or /stats")
	}
}

func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error": msg})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
