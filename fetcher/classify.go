package fetcher

import (
	"errors"
	"strconv"
	"syscall"
)

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
