// This file turns the caching headers of one upstream response into a
// Policy: whether a shared cache may store it, until when it is fresh and
// how long it may be served stale (RFC 9111 sections 3, 4.2 and 4.2.4, and
// RFC 5861's stale-if-error). It is pure: no clock, no state.

package cache

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// maxDelta is the largest delta-seconds value or computed age the cache
// uses: RFC 9111 section 1.2.2 tells a cache to treat larger values, and
// overflowing calculations, as 2^31 seconds (about 68 years).
const maxDelta = time.Duration(1<<31) * time.Second

// MaxCacheControl is the longest Cache-Control value Freshness parses;
// a longer one is treated like a malformed one (not storable), which bounds
// the parsing cost whatever an upstream sends.
const MaxCacheControl = 8 << 10

// Header carries the raw caching headers of one upstream response, as
// received. Empty strings mean the header was absent.
type Header struct {
	// CacheControl is the Cache-Control field value. When a response has
	// several Cache-Control lines, join them with ", " (RFC 9110 5.3).
	CacheControl string
	// Expires is the Expires field value.
	Expires string
	// Date is the Date field value; absent or invalid means the response
	// time stands in for it.
	Date string
	// Age is the Age field value; absent or invalid means 0.
	Age string
	// Status is the response status code; zero means 200. It matters only
	// for responses without explicit freshness (RFC 9111 section 3).
	Status int
}

// Policy is what a shared cache may do with one response, as computed by
// Freshness. All instants are absolute, so a lookup only compares them with
// the current time.
type Policy struct {
	// Storable reports whether a shared cache may store the response at
	// all. When false, every other field is the zero value.
	Storable bool
	// FreshUntil is the instant the response becomes stale: it is fresh
	// while now is strictly before FreshUntil (current_age <
	// freshness_lifetime). A response without explicit freshness, or with
	// no-cache, is stale on arrival: FreshUntil is then at or before the
	// response time.
	FreshUntil time.Time
	// StaleIfErrorUntil is FreshUntil plus the stale-if-error window, or
	// FreshUntil when there is none or MayServeStale is false. It is never
	// before FreshUntil.
	StaleIfErrorUntil time.Time
	// MayServeStale reports whether the response may be served once stale
	// (when the live fetch fails or is late): false with no-cache,
	// must-revalidate, proxy-revalidate or s-maxage, which all require
	// revalidation in a shared cache. The caller adds its own max-stale
	// allowance on top of StaleIfErrorUntil only when this is true.
	MayServeStale bool
}

// Freshness computes the Policy of a response whose request was sent at
// requestTime and which was received at responseTime, following RFC 9111 as
// a shared cache without heuristic freshness:
//
//   - Not storable: no-store; private (with or without field names); a
//     Cache-Control value the parser rejects (a malformed directive could
//     hide a no-store, so the most restrictive reading wins) or one longer
//     than MaxCacheControl; a non-final status, 206 or 304; and, without
//     explicit freshness (s-maxage, max-age, Expires) or public, a status
//     that is not heuristically cacheable.
//   - Freshness lifetime: s-maxage, else max-age, else Expires minus Date
//     (an invalid Expires, such as "0", means already expired), else 0:
//     no heuristic freshness. no-cache forces 0. Values are capped at 2^31 s.
//   - Age (section 4.2.3): corrected_initial_age is the larger of the
//     apparent age (responseTime - Date, at least 0) and Age plus the
//     response delay (responseTime - requestTime); FreshUntil is
//     responseTime + lifetime - corrected_initial_age.
//
// A zero requestTime, or one after responseTime, is taken as responseTime.
// Freshness never panics, whatever the header strings hold.
func Freshness(h Header, requestTime, responseTime time.Time) Policy {
	if len(h.CacheControl) > MaxCacheControl {
		return Policy{}
	}
	cc, err := cacheobject.ParseResponseCacheControl(h.CacheControl)
	if err != nil || cc.NoStore || cc.PrivatePresent {
		return Policy{}
	}
	status := h.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified {
		return Policy{}
	}
	expires := strings.TrimSpace(h.Expires)
	explicit := cc.SMaxAge >= 0 || cc.MaxAge >= 0 || expires != ""
	if !explicit && !cc.Public && !heuristicallyCacheable(status) {
		return Policy{}
	}

	date, ok := parseDate(h.Date)
	if !ok {
		date = responseTime
	}

	var lifetime time.Duration
	switch {
	case cc.NoCachePresent:
		// Must be revalidated before every use, and we never revalidate.
	case cc.SMaxAge >= 0:
		lifetime = seconds(int64(cc.SMaxAge))
	case cc.MaxAge >= 0:
		lifetime = seconds(int64(cc.MaxAge))
	case expires != "":
		if exp, ok := parseDate(expires); ok {
			lifetime = clamp(exp.Sub(date))
		}
	}

	if requestTime.IsZero() || requestTime.After(responseTime) {
		requestTime = responseTime
	}
	apparentAge := clamp(responseTime.Sub(date))
	responseDelay := clamp(responseTime.Sub(requestTime))
	correctedAgeValue := parseAge(h.Age) + responseDelay
	correctedInitialAge := max(apparentAge, correctedAgeValue)

	p := Policy{
		Storable:      true,
		FreshUntil:    responseTime.Add(lifetime - correctedInitialAge),
		MayServeStale: !cc.NoCachePresent && !cc.MustRevalidate && !cc.ProxyRevalidate && cc.SMaxAge < 0,
	}
	p.StaleIfErrorUntil = p.FreshUntil
	if p.MayServeStale && cc.StaleIfError > 0 {
		p.StaleIfErrorUntil = p.FreshUntil.Add(seconds(int64(cc.StaleIfError)))
	}
	return p
}

// heuristicallyCacheable reports whether RFC 9110 section 15.1 lists status
// as heuristically cacheable, which makes a response storable without
// explicit freshness (it is still stale on arrival: no heuristics here).
// 206 is on that list too, but partial responses are never stored.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// parseDate parses an HTTP-date in any of the three formats of RFC 9110
// section 5.6.7.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// parseAge parses an Age value: the first member of a list (RFC 9111
// section 5.1), a non-negative decimal integer; anything else is ignored
// (0), and values beyond 2^31 are capped.
func parseAge(s string) time.Duration {
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil { // only overflow is left: all digits
		return maxDelta
	}
	return seconds(n)
}

// seconds converts delta-seconds to a Duration, capped at maxDelta.
func seconds(n int64) time.Duration {
	if n < 0 {
		return 0
	}
	if n > int64(maxDelta/time.Second) || n > math.MaxInt64/int64(time.Second) {
		return maxDelta
	}
	return time.Duration(n) * time.Second
}

// clamp bounds a computed duration to [0, maxDelta].
func clamp(d time.Duration) time.Duration {
	return min(max(d, 0), maxDelta)
}
