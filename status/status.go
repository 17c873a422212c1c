// Package status is the operators' page: a status page on the admin
// listener, updated about once a second from a Server-Sent Event stream of
// samples of the service's own metrics, and a job view on the public
// listener that follows a job's event stream with the browser's
// EventSource. Both pages are embedded (web/), load nothing from another
// host, and run under a strict Content-Security-Policy; everything callers
// or upstreams supplied is shown as text, never as markup.
//
// The samples are read from the Prometheus registry, only while a status
// page is open: with no page open the package does nothing at all.
package status

import (
	"embed"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"numbers/jobs"
)

//go:embed web
var web embed.FS

// files is the embedded web folder; uplot/ holds uPlot 1.6.32 (MIT,
// uplot/LICENSE), the charts' library, as npm published it.
var files, _ = fs.Sub(web, "web")

// Headers are sent with every page and file: no inline script, no eval,
// nothing from another origin, never framed.
var Headers = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-store",
}

// Config configures a Page.
type Config struct {
	// Metrics is the registry the samples are read from; required.
	Metrics prometheus.Gatherer
	// Jobs lists the recent jobs (newest first) and reads them; nil shows none.
	Jobs *jobs.Runner
	// Margin is the planner's fixed answer margin, shown beside the delay it
	// adds for the caller.
	Margin time.Duration
	// PublicPort is the public listener's port, for links to the job view.
	PublicPort int
	// Interval is the time between samples; zero means 1s.
	Interval time.Duration
}

// Page serves the status page and its event stream. Stop it before the
// admin listener shuts down, to end the streams.
type Page struct {
	cfg Config

	mu      sync.Mutex
	pages   map[chan []byte]struct{} // guarded by mu: the open streams
	history [][]byte                 // guarded by mu: the last minute of samples, as SSE frames
	sampler chan struct{}            // guarded by mu: closed to stop the sampler; nil while none runs
	quit    chan struct{}
	wg      sync.WaitGroup
}

// New returns a Page for cfg.
func New(cfg Config) *Page {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	return &Page{cfg: cfg, pages: map[chan []byte]struct{}{}, quit: make(chan struct{})}
}

// Routes returns the page's handlers on the admin listener, by path: the
// page at / and /status, its stream at /status/events, its files under /ui/.
func (p *Page) Routes() map[string]http.Handler {
	page := serveFile("status.html")
	return map[string]http.Handler{
		"GET /{$}":           page,
		"GET /status":        page,
		"GET /status/events": withHeaders(http.HandlerFunc(p.serveEvents)),
		"GET /ui/":           withHeaders(http.StripPrefix("/ui/", http.FileServerFS(files))),
	}
}

// Stop ends the open streams and the sampler, and waits for them.
func (p *Page) Stop() {
	p.mu.Lock()
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// serveFile serves the embedded file name.
func serveFile(name string) http.Handler {
	return withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, name)
	}))
}

// withHeaders returns next, sending Headers first.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range Headers {
			w.Header().Set(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

// serveEvents streams the samples: the last minute's first, then one per
// interval, until the page goes away or the Page stops.
func (p *Page) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, history, ok := p.join()
	if !ok {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer p.leave(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	write := func(b []byte) error {
		rc.SetWriteDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // the write says it
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	first := []byte("retry: 2000\n\n")
	for _, f := range history {
		first = append(first, f...)
	}
	if write(first) != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-p.quit:
			return
		case b := <-ch:
			if write(b) != nil {
				return
			}
		}
	}
}

// join adds a stream, starting the sampler for the first one, and returns
// its channel and the samples of the last minute; false once stopped.
func (p *Page) join() (chan []byte, [][]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.quit:
		return nil, nil, false
	default:
	}
	ch := make(chan []byte, 4)
	p.pages[ch] = struct{}{}
	if p.sampler == nil {
		p.sampler = make(chan struct{})
		p.history = nil
		p.wg.Add(1)
		go p.sample(p.sampler)
	}
	return ch, append([][]byte(nil), p.history...), true
}

// leave removes a stream, stopping the sampler with the last one.
func (p *Page) leave(ch chan []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pages, ch)
	if len(p.pages) == 0 && p.sampler != nil {
		close(p.sampler)
		p.sampler = nil
	}
}

// publish keeps frame in the history and offers it to every stream; a
// stream whose buffer is full misses it (its page draws the next one).
func (p *Page) publish(frame []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.history = append(p.history, frame)
	if len(p.history) > historyLen {
		p.history = p.history[len(p.history)-historyLen:]
	}
	for ch := range p.pages {
		select {
		case ch <- frame:
		default:
		}
	}
}
