// request.go reads what a request asks: its upstream URLs (valid, distinct,
// canonical; each distinct string is canonicalised once) and the budget its
// caller may shorten (grpc-timeout, x-envoy-expected-rq-timeout-ms).

package handler

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/deadline"
)

// errTooManyURLs is returned when a request names more distinct valid URLs
// than allowed.
var errTooManyURLs = errors.New("too many URLs")

// parseURLs returns the distinct valid upstream URLs of the query's u values,
// in canonical form and in the order first seen, and how many values were
// invalid. It fails only when there are more than max distinct valid URLs.
// The returned strings are copies: they outlive the request. memo
// remembers the canonical forms of the values seen lately.
func parseURLs(args *fasthttp.Args, max int, memo *canonicalMemo) (urls []string, invalid int, err error) {
	for _, v := range args.PeekMulti("u") {
		u, ok := memo.canonical(v)
		if !ok {
			invalid++
			continue
		}
		if contains(urls, u) {
			continue
		}
		if len(urls) == max {
			return nil, invalid, fmt.Errorf("%w: at most %d distinct URLs per request", errTooManyURLs, max)
		}
		urls = append(urls, u)
	}
	return urls, invalid, nil
}

// contains is a linear scan: requests hold at most max-urls (64) values, where
// a scan beats a map and allocates nothing.
func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// canonicalURL validates raw as docs/contract.md §1.1 says and returns it in canonical form:
// lower-case scheme and host, no default port, no fragment, path and query
// kept verbatim. Two spellings of one URL canonicalise to the same string.
func canonicalURL(raw []byte) (string, bool) {
	for _, c := range raw {
		if c <= ' ' || c >= 0x7f {
			return "", false // control characters, spaces and non-ASCII
		}
	}
	u, err := url.Parse(string(raw))
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, ok := canonicalHost(u.Hostname())
	if !ok {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
		if !(scheme == "http" && n == 80 || scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	u.Scheme, u.Host, u.Fragment, u.RawFragment = scheme, host, "", ""
	return u.String(), true
}

// canonicalHost accepts an IP address or a DNS name and returns it lower-cased.
func canonicalHost(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	if strings.Contains(h, ":") { // only a bracketed IPv6 literal has colons here
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return a.String(), true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", false
		}
	}
	if strings.Trim(h, ".") == "" || strings.Contains(h, "..") {
		return "", false
	}
	return strings.ToLower(h), true
}

// canonicalMemo remembers the canonical form of the u values seen lately,
// so that a URL asked for again and again (the cached path: the same few
// upstreams on every request) is parsed once, not on every request: parsing
// and canonicalising took 9 % of the CPU of a cached answer. It is a table
// of slots, each holding the last value that hashed to it; a value whose
// slot holds another is parsed and takes the slot. Values that differ on
// every request only ever miss, at the cost of a hash and an entry each.
type canonicalMemo struct {
	seed  maphash.Seed
	slots [canonicalSlots]atomic.Pointer[canonicalEntry]
}

// canonicalSlots is the table's size: a few thousand upstream URLs.
const canonicalSlots = 1 << 12

// canonicalEntry is one u value and what canonicalURL made of it.
type canonicalEntry struct {
	raw, canonical string
	ok             bool
}

func newCanonicalMemo() *canonicalMemo { return &canonicalMemo{seed: maphash.MakeSeed()} }

// canonical returns canonicalURL(raw), from the table when raw is there.
func (m *canonicalMemo) canonical(raw []byte) (string, bool) {
	slot := &m.slots[maphash.Bytes(m.seed, raw)%canonicalSlots]
	if e := slot.Load(); e != nil && e.raw == string(raw) {
		return e.canonical, e.ok
	}
	u, ok := canonicalURL(raw)
	e := &canonicalEntry{raw: u, canonical: u, ok: ok}
	if !ok || u != string(raw) { // most values are canonical already: one string for both
		e.raw = string(raw)
	}
	slot.Store(e)
	return u, ok
}

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
