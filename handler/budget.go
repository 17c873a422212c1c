package handler

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/deadline"
)

// A caller may ask for a shorter budget than the service's (never a longer
// one), so that a client with overhead of its own gets its answer on its own
// clock. Two established conventions are understood:
//
//   - grpc-timeout, as gRPC sends it ("gRPC over HTTP2", PROTOCOL-HTTP2.md):
//     TimeoutValue, a positive integer of at most 8 ASCII digits, then
//     TimeoutUnit: H hours, M minutes, S seconds, m milliseconds,
//     u microseconds, n nanoseconds. "250m" is 250ms.
//   - x-envoy-expected-rq-timeout-ms, as Envoy sends it to the services
//     behind it: the time the proxy will wait, in whole milliseconds.
//
// If both are present the smaller wins.
const (
	grpcTimeoutHeader  = "grpc-timeout"
	envoyTimeoutHeader = "x-envoy-expected-rq-timeout-ms"
)

var (
	errGRPCTimeout  = errors.New("bad grpc-timeout: want a positive value of 1 to 8 digits and a unit, H, M, S, m, u or n (250m is 250 milliseconds)")
	errEnvoyTimeout = errors.New("bad x-envoy-expected-rq-timeout-ms: want a positive integer of milliseconds")
	errShortBudget  = errors.New("requested budget too short")
)

// budgetFor returns the budget of a request: the service's, or the caller's
// if it asked for less. A malformed header fails; so does a requested budget
// too short to fetch anything and answer, since asking again would fail the
// same way (it wraps errShortBudget).
func (h *Handler) budgetFor(hdr *fasthttp.RequestHeader) (time.Duration, error) {
	budget := h.budget
	if v := hdr.Peek(grpcTimeoutHeader); len(v) > 0 {
		d, err := parseGRPCTimeout(v)
		if err != nil {
			return 0, err
		}
		budget = min(budget, d)
	}
	if v := hdr.Peek(envoyTimeoutHeader); len(v) > 0 {
		d, err := parseEnvoyTimeout(v)
		if err != nil {
			return 0, err
		}
		budget = min(budget, d)
	}
	if need := h.planner.Margin().Base + deadline.MinWait; budget < h.budget && budget < need {
		return 0, fmt.Errorf("%w: %v asked for, this service needs at least %v to fetch and answer", errShortBudget, budget, need)
	}
	return budget, nil
}

// grpcUnits are the gRPC TimeoutUnits.
var grpcUnits = [...]struct {
	unit byte
	d    time.Duration
}{{'H', time.Hour}, {'M', time.Minute}, {'S', time.Second}, {'m', time.Millisecond}, {'u', time.Microsecond}, {'n', time.Nanosecond}}

// parseGRPCTimeout parses a grpc-timeout value. Zero is refused, as the spec
// wants a positive value; a value too long for a time.Duration (a hundred
// million hours) saturates, and is capped by the budget anyway.
func parseGRPCTimeout(v []byte) (time.Duration, error) {
	if len(v) < 2 || len(v) > 9 {
		return 0, errGRPCTimeout
	}
	var unit time.Duration
	for _, u := range grpcUnits {
		if v[len(v)-1] == u.unit {
			unit = u.d
		}
	}
	n, ok := digits(v[:len(v)-1])
	if unit == 0 || !ok || n == 0 {
		return 0, errGRPCTimeout
	}
	if n > math.MaxInt64/int64(unit) {
		return math.MaxInt64, nil
	}
	return time.Duration(n) * unit, nil
}

// parseEnvoyTimeout parses an x-envoy-expected-rq-timeout-ms value. Zero is
// refused: Envoy sends the header only for a finite timeout.
func parseEnvoyTimeout(v []byte) (time.Duration, error) {
	n, ok := digits(v)
	if !ok || n == 0 {
		return 0, errEnvoyTimeout
	}
	if n > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, nil
	}
	return time.Duration(n) * time.Millisecond, nil
}

// digits parses a non-empty string of ASCII digits, saturating at
// math.MaxInt64.
func digits(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64 // keep checking that the rest are digits
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
