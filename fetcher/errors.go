package fetcher

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/valyala/fasthttp"

	"numbers/guard"
	"numbers/outcome"
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

// OutcomeOf classifies the error of Fetch: nil is OK.
func OutcomeOf(err error) outcome.Outcome {
	switch {
	case err == nil:
		return outcome.OK
	case errors.Is(err, ErrTimeout):
		return outcome.Timeout
	case errors.Is(err, ErrDenied):
		return outcome.Denied
	default:
		return outcome.Failed
	}
}

// StatusError is the cause of an ErrStatus failure: the upstream answered
// with Code, a status outside 2xx.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return "status " + strconv.Itoa(e.Code) }

// Retryable reports whether err is a fast failure that one more attempt may
// well not repeat: the connection was refused or reset, or the upstream (or
// a proxy in front of it) answered 502, 503 or 504. A 4xx, a bad body, a
// timeout or a policy refusal is never retryable. A connection closed before
// the first response byte is not either: the fetcher has already retried it
// once (see Config).
func Retryable(err error) bool {
	if err == nil || !errors.Is(err, ErrTransport) && !errors.Is(err, ErrStatus) {
		return false
	}
	var st *StatusError
	if errors.As(err, &st) {
		return st.Code == 502 || st.Code == 503 || st.Code == 504
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// HostFault reports whether err says something about the health of the
// upstream's host, as Envoy's outlier detection counts it: a timeout, a
// transport failure or a 5xx status. A 4xx, a bad or too large body is the
// answer of a host that is up (the URL or its content is at fault), and a
// policy refusal never reached the host: neither counts against it.
func HostFault(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrTransport):
		return true
	case errors.Is(err, ErrStatus):
		var st *StatusError
		return !errors.As(err, &st) || st.Code >= 500
	}
	return false
}
