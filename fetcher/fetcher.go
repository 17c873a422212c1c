// Package fetcher is the one place that talks to upstreams: it fetches a URL
// with a shared, tuned fasthttp client, decodes the body into integers, and
// classifies every failure as one of a few sentinel errors.
//
// Every fetch is bounded by the deadline of its context: the dial, the DNS
// look-up (when the configured dialer honours its timeout), the wait for a free
// connection, every redirect hop and the reading of the body. Cancelling the
// context ends the fetch at once while it writes the request or reads the
// response (see transport). There are no retries here beyond one retry of a
// request whose connection the upstream closed before answering (a keep-alive
// race), within the same deadline; Retryable and HostFault tell the layer
// above which failures it may retry and which count against a host's health.
package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"

	"numbers/aggregate"
	"numbers/tracing"
	"numbers/wire"
)

// Config configures a Client. The zero Config is usable.
type Config struct {
	// MaxBodyBytes limits an upstream body; zero means 8 MiB.
	MaxBodyBytes int
	// MaxRedirects is how many redirects are followed; zero means 3, negative means none.
	MaxRedirects int
	// MaxConnsPerHost bounds the keep-alive pool per upstream host; zero means 4096.
	MaxConnsPerHost int
	// MaxIdleConnDuration closes idle keep-alive connections; zero means 30s.
	MaxIdleConnDuration time.Duration
	// UserAgent is sent with every request; empty means "numbers".
	UserAgent string
	// DialTimeout dials upstreams within the time left to the request; nil means
	// fasthttp's own dialer. The SSRF guard plugs in here.
	DialTimeout fasthttp.DialFuncWithTimeout
	// AllowHost, when set, vets every host name (the first and each redirect's)
	// before any connection; an error wrapping ErrDenied refuses the fetch.
	AllowHost func(host string) error
	// Propagator, when set, writes the trace context of each fetch's
	// context into its upstream request (tracing.Tracer.Propagator: the
	// W3C traceparent and tracestate); nil sends none.
	Propagator propagation.TextMapPropagator
}

// Response is what one successful fetch returns.
type Response struct {
	// Numbers is sorted ascending and unique; the caller owns it.
	Numbers []int64
	// CacheControl, Expires, Date and Age are the raw caching headers of the
	// final response, empty when absent.
	CacheControl, Expires, Date, Age string
	// Sent and Received are when the request was sent and the body was read.
	Sent, Received time.Time
	// Status is the final response's status code, a 2xx.
	Status int
}

// Client fetches upstream URLs. It is safe for concurrent use.
type Client struct {
	http         fasthttp.Client
	maxRedirects int
	userAgent    string
	allowHost    func(string) error
	propagator   propagation.TextMapPropagator
}

// New returns a Client configured by cfg.
func New(cfg Config) *Client {
	maxBody := cfg.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = 8 << 20
	}
	maxConns := cfg.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = 4096
	}
	idle := cfg.MaxIdleConnDuration
	if idle <= 0 {
		idle = 30 * time.Second
	}
	redirects := cfg.MaxRedirects
	switch {
	case redirects == 0:
		redirects = 3
	case redirects < 0:
		redirects = 0
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "numbers"
	}
	return &Client{
		http: fasthttp.Client{
			Name:                     ua,
			NoDefaultUserAgentHeader: true,
			DialTimeout:              cfg.DialTimeout,
			MaxConnsPerHost:          maxConns,
			// A request waits for a free connection at most until its own deadline.
			MaxConnWaitTimeout:  time.Minute,
			MaxIdleConnDuration: idle,
			MaxResponseBodySize: maxBody,
			// One retry, only when the upstream closed the connection before
			// the first response byte: the race of a keep-alive connection it
			// had just closed as idle looks like that (so does an upstream
			// that resets every connection: it is asked twice). Same
			// deadline. A timeout or a bad response is never retried.
			MaxIdemponentCallAttempts: 2,
			RetryIfErr:                retryClosedConn,
			DisablePathNormalizing:    true,
			ReadBufferSize:            8 << 10,
			Transport:                 transport{},
		},
		maxRedirects: redirects,
		userAgent:    ua,
		allowHost:    cfg.AllowHost,
		propagator:   cfg.Propagator,
	}
}

// Fetch GETs url and returns its numbers, sorted and unique. The fetch ends by
// the deadline of ctx, or when ctx is cancelled; without a deadline it fails at
// once with ErrTimeout, so that no fetch can run unbounded. On failure the
// error wraps exactly one of ErrTimeout, ErrDenied, ErrTransport, ErrStatus,
// ErrBody or ErrTooLarge; a fetch ended by its context is an ErrTimeout that
// also wraps ctx.Err().
func (c *Client) Fetch(ctx context.Context, url string) (Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok || ctx.Err() != nil {
		return Response{}, fail(url, ErrTimeout, ctx.Err())
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURI(url)
	req.Header.SetUserAgent(c.userAgent)
	req.Header.Set("Accept", "application/json")
	req.SetUserValue(ctxKey{}, ctx)
	if c.propagator != nil {
		c.propagator.Inject(ctx, tracing.RequestHeader{Header: &req.Header})
	}

	sent := time.Now()
	if err := c.do(ctx, req, resp, deadline); err != nil {
		return Response{}, fail(url, classify(err), err)
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		return Response{}, fail(url, ErrStatus, &StatusError{Code: code})
	}
	body := resp.Body()
	if len(resp.Header.ContentEncoding()) > 0 {
		var err error
		if body, err = resp.BodyUncompressedWithLimit(c.http.MaxResponseBodySize); err != nil {
			// The exchange worked; what came is a corrupt, truncated or
			// unknown encoding of the body, or it inflates past the limit.
			kind := ErrBody
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				kind = ErrTooLarge
			}
			return Response{}, fail(url, kind, err)
		}
	}
	nums, err := wire.Decode(body)
	if err != nil {
		return Response{}, fail(url, ErrBody, err)
	}
	return Response{
		Numbers:      aggregate.Normalize(nums),
		CacheControl: header(resp, "Cache-Control"),
		Expires:      header(resp, "Expires"),
		Date:         header(resp, "Date"),
		Age:          header(resp, "Age"),
		Sent:         sent,
		Received:     time.Now(),
		Status:       resp.StatusCode(),
	}, nil
}

// do performs req, following redirects itself so that every hop is vetted and
// shares the one deadline and context.
func (c *Client) do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	for hops := 0; ; hops++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.allowHost != nil {
			if err := c.allowHost(string(req.URI().Host())); err != nil {
				return err
			}
		}
		if err := c.http.DoDeadline(req, resp, deadline); err != nil {
			return err
		}
		if !fasthttp.StatusCodeIsRedirect(resp.StatusCode()) {
			return nil
		}
		location := resp.Header.Peek("Location")
		if len(location) == 0 {
			return nil // a redirect without a target: judged by its status
		}
		if hops >= c.maxRedirects {
			return errTooManyRedirects
		}
		req.URI().UpdateBytes(location)
		if s := string(req.URI().Scheme()); s != "http" && s != "https" {
			return fmt.Errorf("redirect to unsupported scheme %q", s)
		}
		if resp.StatusCode() == fasthttp.StatusSeeOther {
			req.Header.SetMethod(fasthttp.MethodGet)
		}
		resp.Reset()
	}
}

// retryClosedConn allows fasthttp's one retry only for a connection closed
// before the first response byte, and never resets the deadline.
func retryClosedConn(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF)
}

// header returns a copy of the response header key, or "" without allocating.
func header(resp *fasthttp.Response, key string) string {
	v := resp.Header.Peek(key)
	if len(v) == 0 {
		return ""
	}
	return string(v)
}

// fail wraps cause as a fetch failure of kind for url.
func fail(url string, kind, cause error) error {
	if cause == nil {
		cause = kind
	}
	return &Error{URL: url, Kind: kind, Err: cause}
}

var errTooManyRedirects = errors.New("too many redirects")

// ctxKey is the key under which Fetch hands a request's context to the
// transport, in the fasthttp request's user values.
type ctxKey struct{}

// longAgo is a deadline in the past: setting it on a connection wakes every
// read and write blocked on it at once.
var longAgo = time.Unix(1, 0)

// transport is fasthttp's default transport (client.go, transport.RoundTrip)
// plus cancellation. fasthttp's client knows deadlines but not contexts, so
// on its own a fetch whose caller has gone goes on reading until the deadline.
// This transport does the same steps as the default one (take a connection
// from the host's pool, write the request, read the response within the
// limit, give the connection back) and, while it holds the connection, lets
// the context end the exchange: when the context is done, the connection's
// deadline is set in the past, the blocked read returns at once and the
// connection is closed rather than reused. It is written by hand because the
// default transport offers no hook between taking the connection and using
// it. What it does not cover: the wait for a free connection and the dial,
// which fasthttp bounds by the deadline but cannot interrupt.
type transport struct{}

// RoundTrip implements fasthttp.RoundTripper. The returned retry says whether
// the HostClient may try again (its RetryIfErr decides): as in fasthttp's
// transport, after any failure of the exchange except a body over the limit,
// and never after the context ended.
func (transport) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (retry bool, err error) {
	ctx, _ := req.UserValue(ctxKey{}).(context.Context)
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	deadline, _ := ctx.Deadline()
	var wait time.Duration
	if !deadline.IsZero() {
		if wait = time.Until(deadline); wait <= 0 {
			return false, fasthttp.ErrTimeout
		}
	}
	cc, err := hc.AcquireConn(wait, req.ConnectionClose())
	if err != nil {
		return false, err
	}
	conn := cc.Conn()
	resp.ParseNetConn(conn)
	// Set before the hook: once registered, only the hook moves the deadline.
	if err := conn.SetDeadline(deadline); err != nil {
		hc.CloseConn(cc)
		return true, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(longAgo) })

	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err == nil {
		br := hc.AcquireReader(conn)
		err = resp.ReadLimitBody(br, hc.MaxResponseBodySize)
		hc.ReleaseReader(br)
	}

	if !stop() {
		// The context ended while the connection was ours: its deadline has
		// been moved, so it is closed whatever the exchange gave.
		hc.CloseConn(cc)
		return false, errors.Join(ctx.Err(), err)
	}
	if err != nil {
		hc.CloseConn(cc)
		return !errors.Is(err, fasthttp.ErrBodyTooLarge), err
	}
	if req.ConnectionClose() || resp.ConnectionClose() {
		hc.CloseConn(cc)
	} else {
		hc.ReleaseConn(cc)
	}
	return false, nil
}
