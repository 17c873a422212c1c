// Package handler serves the public HTTP API of the numbers service on
// fasthttp: GET /numbers, which fans out to upstreams and merges their
// integers within a hard budget, the health endpoints, and the OpenAPI
// description of them all (package api).
//
// The deadline flows one way. It is computed once per request, from the
// request's arrival (when fasthttp finished reading it, or earlier when the
// kernel says its bytes arrived before, see arrival), as that moment plus the
// budget (the caller's, if it asked for less), by the planner (package
// deadline), and becomes the request's context: the one context every fetch
// of the request runs in, down to the upstream connection. The handler
// answers at the flush time the plan gives for the result merged so far, or
// as soon as every fetch has settled, whichever is first, and then cancels
// the context, which ends the fetches it no longer waits for (except those
// that background completion detached, see package source).
//
// Whether a request is served at all is decided as it arrives, before any
// work starts, by package overload (see serveNumbers).
package handler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"numbers/api"
	"numbers/deadline"
	"numbers/jobs"
	"numbers/outcome"
	"numbers/overload"
	"numbers/tracing"
)

// Observer is told what happened to each request; metrics implement it. Its
// methods are called on the request path and must be cheap and safe for
// concurrent use.
type Observer interface {
	// Upstream reports one upstream's outcome.
	Upstream(o outcome.Outcome)
	// Answered reports a /numbers answer: the time from the arrival of the
	// request to the answer being ready, whether it was partial, and whether it
	// was ready after the budget (the request's own, see Config.Budget).
	Answered(elapsed time.Duration, partial, late bool)
	// Refused reports a /numbers request refused with 503 before any work
	// started, and why. Answered is told about it too.
	Refused(reason overload.Reason)
}

// Config configures a Handler.
type Config struct {
	// Source obtains the upstreams' numbers; required.
	Source jobs.Source
	// Budget is the whole time allowed for an answer; zero means 500ms. A
	// caller may ask for less with grpc-timeout or
	// x-envoy-expected-rq-timeout-ms, never for more (see budgetFor).
	Budget time.Duration
	// MaxURLs is the most distinct valid URLs one request may name; zero means 64.
	MaxURLs int
	// Planner plans when each answer is written; nil means
	// deadline.New(deadline.Config{}): the default margin and no caller's
	// delay.
	Planner *deadline.Planner
	// Overload decides whether each /numbers request is served
	// (overload.Controller); nil serves every one.
	Overload Admitter
	// Observer is told about every request and upstream; nil means nobody.
	Observer Observer
	// Jobs runs the jobs of /jobs and of GET /numbers with Prefer:
	// respond-async; nil means no jobs (404, and the preference ignored).
	Jobs *jobs.Runner
	// Hub streams /jobs/{id}/events; required with Jobs. The streams run on
	// hijacked connections: the fasthttp.Server must set KeepHijackedConns.
	Hub *jobs.Hub
	// Tracer traces /numbers and the jobs endpoints: a server span per
	// sampled request, and the trace context of every request passed to its
	// fetches (Source makes their spans). Nil traces nothing.
	Tracer *tracing.Tracer
	// JobView serves GET /jobs/{id} to a browser (Accept: text/html) and
	// the files under /ui/ that page loads; nil serves neither.
	JobView fasthttp.RequestHandler
}

// Admitter decides, as a /numbers request arrives, whether it is served:
// given how long it waited unread (zero when unknown) and how many requests
// are in flight counting it, it returns overload.Admitted or why not.
type Admitter interface {
	Admit(sojourn time.Duration, inFlight int64) overload.Reason
}

// Handler serves the public endpoints. Create it with New.
type Handler struct {
	source   jobs.Source
	budget   time.Duration
	maxURLs  int
	planner  *deadline.Planner
	overload Admitter // nil: every request served
	observe  Observer
	jobs     *jobs.Runner
	hub      *jobs.Hub
	jobView  fasthttp.RequestHandler
	tracer   *tracing.Tracer

	canonical *canonicalMemo // the u values seen lately, canonicalised

	inFlight atomic.Int64
	draining atomic.Bool
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	h := &Handler{
		source:   cfg.Source,
		budget:   cfg.Budget,
		maxURLs:  cfg.MaxURLs,
		planner:  cfg.Planner,
		overload: cfg.Overload,
		observe:  cfg.Observer,
		jobs:     cfg.Jobs,
		hub:      cfg.Hub,
		jobView:  cfg.JobView,
		tracer:   cfg.Tracer,

		canonical: newCanonicalMemo(),
	}
	if h.source == nil {
		panic("handler: Config.Source is required")
	}
	if h.budget <= 0 {
		h.budget = 500 * time.Millisecond
	}
	if h.maxURLs <= 0 {
		h.maxURLs = 64
	}
	if h.planner == nil {
		h.planner = deadline.New(deadline.Config{})
	}
	if h.jobs != nil && h.hub == nil {
		panic("handler: Config.Hub is required with Config.Jobs")
	}
	if h.observe == nil {
		h.observe = nopObserver{}
	}
	return h
}

// Drain makes /readyz report not ready, so that load balancers stop sending
// traffic while the server shuts down.
func (h *Handler) Drain() { h.draining.Store(true) }

// InFlight returns how many /numbers requests are being served now.
func (h *Handler) InFlight() int64 { return h.inFlight.Load() }

// Handle is the fasthttp.RequestHandler of the public listener.
func (h *Handler) Handle(ctx *fasthttp.RequestCtx) {
	if h.tracer != nil {
		if route := tracedRoute(ctx.Path()); route != "" {
			h.serveTraced(ctx, route)
			return
		}
	}
	h.serve(ctx, context.Background())
}

// serve answers ctx by its path. parent is the context the request's work
// runs in: it carries the request's trace span, if any, and nothing else.
func (h *Handler) serve(ctx *fasthttp.RequestCtx, parent context.Context) {
	switch string(ctx.Path()) {
	case "/numbers":
		if !allowGetHead(ctx) {
			return
		}
		h.serveNumbers(ctx, parent)
	case "/healthz":
		if allowGetHead(ctx) {
			writeStatus(ctx, fasthttp.StatusOK, `{"status":"ok"}`)
		}
	case "/readyz":
		if !allowGetHead(ctx) {
			return
		}
		if h.draining.Load() {
			writeStatus(ctx, fasthttp.StatusServiceUnavailable, `{"status":"draining"}`)
			return
		}
		writeStatus(ctx, fasthttp.StatusOK, `{"status":"ready"}`)
	case "/openapi.json":
		if allowGetHead(ctx) {
			writeStatus(ctx, fasthttp.StatusOK, api.OpenAPI())
		}
	default:
		if h.jobView != nil && bytes.HasPrefix(ctx.Path(), []byte("/ui/")) {
			h.jobView(ctx)
			return
		}
		if h.jobs != nil && h.routeJobs(ctx, parent) {
			return
		}
		writeError(ctx, fasthttp.StatusNotFound, "no such endpoint: use GET /numbers?u=URL")
	}
}

// HandleError is the fasthttp.Server ErrorHandler: it answers requests that
// fasthttp could not parse with a JSON error.
func HandleError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		drain(ctx.Conn())
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge,
			"request line and headers too large: send fewer or shorter u values")
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "request not received in time")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
}

// drain reads and discards what a client whose request was too large is still
// sending, at most drainBytes for at most drainTime. fasthttp closes the
// connection after the error answer; closing with unread data would send a
// reset, which can destroy the answer before the client reads it.
func drain(c net.Conn) {
	if c == nil || c.SetReadDeadline(time.Now().Add(drainTime)) != nil {
		return
	}
	io.CopyN(io.Discard, c, drainBytes) //nolint:errcheck // the deadline or the limit ends it; either is fine
}

const (
	drainBytes = 1 << 20
	drainTime  = 100 * time.Millisecond
)

// allowGetHead answers 405 unless the method is GET or HEAD.
func allowGetHead(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	ctx.Response.Header.Set("Allow", "GET, HEAD")
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed: use GET or HEAD")
	return false
}

type nopObserver struct{}

func (nopObserver) Upstream(outcome.Outcome)           {}
func (nopObserver) Answered(time.Duration, bool, bool) {}
func (nopObserver) Refused(overload.Reason)            {}

const contentTypeJSON = "application/json"

// writeError answers status with {"error":msg}.
func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(errorBody(msg))
}

// errorBody returns {"error":msg}.
func errorBody(msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg}) // a struct of one string cannot fail to encode
	return b
}

// writeStatus answers status with a fixed JSON body.
func writeStatus(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBodyString(body)
}
