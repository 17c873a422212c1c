package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"

	"numbers/outcome"
)

func TestOutcomeOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want outcome.Outcome
	}{
		{"nil", nil, outcome.OK},
		{"timeout", fail("u", ErrTimeout, context.DeadlineExceeded), outcome.Timeout},
		{"denied", fail("u", ErrDenied, errors.New("private address")), outcome.Denied},
		{"transport", fail("u", ErrTransport, io.ErrUnexpectedEOF), outcome.Failed},
		{"status", fail("u", ErrStatus, errors.New("status 500")), outcome.Failed},
		{"body", fail("u", ErrBody, errors.New(`"numbers" is null`)), outcome.Failed},
		{"too large", fail("u", ErrTooLarge, fasthttp.ErrBodyTooLarge), outcome.Failed},
		{"wrapped timeout", fmt.Errorf("handler: %w", fail("u", ErrTimeout, nil)), outcome.Timeout},
		{"bare sentinel", ErrDenied, outcome.Denied},
		{"foreign error", errors.New("something else"), outcome.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutcomeOf(tc.err); got != tc.want {
				t.Errorf("OutcomeOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorWrapsKindAndCause(t *testing.T) {
	cause := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	err := error(fail("http://a/", ErrTimeout, cause))
	var fe *Error
	if !errors.As(err, &fe) || fe.URL != "http://a/" || fe.Kind != ErrTimeout || fe.Err != cause {
		t.Fatalf("errors.As gave %+v", fe)
	}
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrTransport) {
		t.Error("the kind is not exposed alone to errors.Is")
	}
	var op *net.OpError
	if !errors.As(err, &op) || op != cause || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("the cause is not exposed to errors.As / errors.Is")
	}
	if err.Error() == "" {
		t.Error("empty message")
	}
	if e := fail("u", ErrTimeout, nil); e.(*Error).Err != ErrTimeout {
		t.Error("a nil cause is not replaced by the kind")
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"denied", fmt.Errorf("policy: %w", ErrDenied), ErrDenied},
		{"too large", fasthttp.ErrBodyTooLarge, ErrTooLarge},
		{"fasthttp timeout", fasthttp.ErrTimeout, ErrTimeout},
		{"dial timeout", fasthttp.ErrDialTimeout, ErrTimeout},
		{"context deadline", context.DeadlineExceeded, ErrTimeout},
		{"net timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ErrTimeout},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ErrTransport},
		{"too many redirects", errTooManyRedirects, ErrTransport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestRetryableAndHostFault: each case says whether the error is a fast
// failure worth one retry and whether it counts against the host.
func TestRetryableAndHostFault(t *testing.T) {
	type verdict struct{ retryable, hostFault bool }
	refused := &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for name, tc := range map[string]struct {
		err  error
		want verdict
	}{
		"nil":             {nil, verdict{}},
		"timeout":         {fail("u", ErrTimeout, context.DeadlineExceeded), verdict{hostFault: true}},
		"refused":         {fail("u", ErrTransport, refused), verdict{true, true}},
		"reset":           {fail("u", ErrTransport, fmt.Errorf("read: %w", syscall.ECONNRESET)), verdict{true, true}},
		"other transport": {fail("u", ErrTransport, io.ErrUnexpectedEOF), verdict{hostFault: true}},
		"503":             {fail("u", ErrStatus, &StatusError{Code: 503}), verdict{true, true}},
		"500":             {fail("u", ErrStatus, &StatusError{Code: 500}), verdict{hostFault: true}},
		"404":             {fail("u", ErrStatus, &StatusError{Code: 404}), verdict{}},
		"body":            {fail("u", ErrBody, errors.New("bad")), verdict{}},
		"too large":       {fail("u", ErrTooLarge, fasthttp.ErrBodyTooLarge), verdict{}},
		"denied":          {fail("u", ErrDenied, syscall.ECONNREFUSED), verdict{}},
		"foreign refused": {syscall.ECONNREFUSED, verdict{}},
	} {
		if got := (verdict{Retryable(tc.err), HostFault(tc.err)}); got != tc.want {
			t.Errorf("%s: Retryable, HostFault = %v; want %v", name, got, tc.want)
		}
	}
}
