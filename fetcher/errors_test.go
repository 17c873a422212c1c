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

func TestRetryableAndHostFault(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		retryable bool
		hostFault bool
	}{
		{"nil", nil, false, false},
		{"timeout", fail("u", ErrTimeout, context.DeadlineExceeded), false, true},
		{"refused", fail("u", ErrTransport, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), true, true},
		{"reset", fail("u", ErrTransport, fmt.Errorf("read: %w", syscall.ECONNRESET)), true, true},
		{"other transport", fail("u", ErrTransport, io.ErrUnexpectedEOF), false, true},
		{"503", fail("u", ErrStatus, &StatusError{Code: 503}), true, true},
		{"500", fail("u", ErrStatus, &StatusError{Code: 500}), false, true},
		{"404", fail("u", ErrStatus, &StatusError{Code: 404}), false, false},
		{"body", fail("u", ErrBody, errors.New("bad")), false, false},
		{"too large", fail("u", ErrTooLarge, fasthttp.ErrBodyTooLarge), false, false},
		{"denied", fail("u", ErrDenied, syscall.ECONNREFUSED), false, false},
		{"foreign refused", syscall.ECONNREFUSED, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.retryable {
				t.Errorf("Retryable = %v, want %v", got, tc.retryable)
			}
			if got := HostFault(tc.err); got != tc.hostFault {
				t.Errorf("HostFault = %v, want %v", got, tc.hostFault)
			}
		})
	}
}
