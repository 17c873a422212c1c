package fetcher

import (
	"context"
	"errors"
	"net"
	"os"

	"github.com/valyala/fasthttp"

	"numbers/guard"
)

// The kinds of failure. Every error returned by Fetch wraps exactly one.
var (
	// ErrTimeout: the deadline passed, or the context was cancelled, before
	// the body was read.
	ErrTimeout = errors.New("fetcher: timeout")
	// ErrDenied: the upstream's host or address is refused by policy.
	ErrDenied = errors.New("fetcher: upstream denied by policy")
	// ErrTransport: DNS, connection, TLS or protocol failure, or a redirect loop.
	ErrTransport = errors.New("fetcher: transport failure")
	// ErrStatus: the upstream answered with a status outside 2xx.
	ErrStatus = errors.New("fetcher: bad status")
	// ErrBody: the body is not a JSON object with an integer array under "numbers".
	ErrBody = errors.New("fetcher: bad body")
	// ErrTooLarge: the body is larger than the configured limit.
	ErrTooLarge = errors.New("fetcher: body too large")
)

// Error is a failed fetch: which URL, which kind of failure, and the cause.
type Error struct {
	URL  string
	Kind error // one of the Err* kinds above
	Err  error // the underlying cause
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.URL + ": " + e.Err.Error() }

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// classify maps an error of the HTTP client to one failure kind.
func classify(err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, ErrDenied), errors.Is(err, guard.ErrDenied):
		return ErrDenied
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return ErrTooLarge
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return ErrTimeout
	default:
		return ErrTransport
	}
}
