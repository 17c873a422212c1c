package fetcher

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

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
