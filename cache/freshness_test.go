package cache

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// t0 is the response time of every table case.
var t0 = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

// httpDate formats t as an IMF-fixdate, as upstreams send it.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func TestFreshness(t *testing.T) {
	date := httpDate(t0)
	tests := []struct {
		name     string
		h        Header
		req      time.Time // zero means t0
		storable bool
		fresh    time.Duration // FreshUntil - t0
		sie      time.Duration // StaleIfErrorUntil - FreshUntil
		stale    bool          // MayServeStale
	}{
		{name: "max-age", h: Header{CacheControl: "max-age=60", Date: date}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "max-age quoted", h: Header{CacheControl: `max-age="60"`}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "max-age upper case", h: Header{CacheControl: "MAX-AGE=60"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "max-age zero", h: Header{CacheControl: "max-age=0"}, storable: true, stale: true},
		{name: "max-age huge is capped by the parser at 2^31-1s", h: Header{CacheControl: "max-age=99999999999999"}, storable: true, fresh: maxDelta - time.Second, stale: true},
		{name: "s-maxage beats max-age and forbids stale", h: Header{CacheControl: "max-age=60, s-maxage=120"}, storable: true, fresh: 120 * time.Second},
		{name: "s-maxage zero beats max-age", h: Header{CacheControl: "s-maxage=0, max-age=600"}, storable: true},
		{name: "max-age beats Expires", h: Header{CacheControl: "max-age=10", Expires: httpDate(t0.Add(time.Hour)), Date: date}, storable: true, fresh: 10 * time.Second, stale: true},
		{name: "Expires with Date", h: Header{Expires: httpDate(t0.Add(90 * time.Second)), Date: date}, storable: true, fresh: 90 * time.Second, stale: true},
		{name: "Expires minus Date, not minus response time", h: Header{Expires: httpDate(t0.Add(90 * time.Second)), Date: httpDate(t0.Add(-30 * time.Second))},
			storable: true, fresh: 90 * time.Second, stale: true}, // lifetime 120s, apparent age 30s
		{name: "Expires without Date uses response time", h: Header{Expires: httpDate(t0.Add(45 * time.Second))}, storable: true, fresh: 45 * time.Second, stale: true},
		{name: "Expires in RFC 850 format", h: Header{Expires: "Friday, 02-Jan-26 12:01:00 GMT", Date: date}, storable: true, fresh: time.Minute, stale: true},
		{name: "Expires in the past", h: Header{Expires: httpDate(t0.Add(-time.Hour)), Date: date}, storable: true, stale: true},
		{name: "Expires 0 means already expired", h: Header{Expires: "0", Date: date}, storable: true, stale: true},
		{name: "Expires garbage means already expired", h: Header{Expires: "tomorrow", Date: date}, storable: true, stale: true},
		{name: "Age reduces lifetime", h: Header{CacheControl: "max-age=60", Age: "20", Date: date}, storable: true, fresh: 40 * time.Second, stale: true},
		{name: "Age beyond lifetime", h: Header{CacheControl: "max-age=60", Age: "100"}, storable: true, fresh: -40 * time.Second, stale: true},
		{name: "Age list uses first member", h: Header{CacheControl: "max-age=60", Age: " 10 , 20"}, storable: true, fresh: 50 * time.Second, stale: true},
		{name: "Age invalid is ignored", h: Header{CacheControl: "max-age=60", Age: "-5"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "Age non-numeric is ignored", h: Header{CacheControl: "max-age=60", Age: "1e3"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "Age huge is capped at 2^31s", h: Header{CacheControl: "max-age=60", Age: "999999999999999999999999"}, storable: true, fresh: 60*time.Second - maxDelta, stale: true},
		{name: "Date in the past gives apparent age", h: Header{CacheControl: "max-age=60", Date: httpDate(t0.Add(-15 * time.Second))}, storable: true, fresh: 45 * time.Second, stale: true},
		{name: "Date in the future is no negative age", h: Header{CacheControl: "max-age=60", Date: httpDate(t0.Add(time.Hour))}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "Date invalid uses response time", h: Header{CacheControl: "max-age=60", Date: "yesterday"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "Date ancient is capped", h: Header{CacheControl: "max-age=60", Date: "Mon, 01 Jan 0001 00:00:00 GMT"}, storable: true, fresh: 60*time.Second - maxDelta, stale: true},
		{name: "response delay counts as age", h: Header{CacheControl: "max-age=60", Age: "5"}, req: t0.Add(-2 * time.Second), storable: true, fresh: 53 * time.Second, stale: true},
		{name: "apparent age wins over smaller corrected age", h: Header{CacheControl: "max-age=60", Age: "1", Date: httpDate(t0.Add(-10 * time.Second))}, req: t0.Add(-2 * time.Second),
			storable: true, fresh: 50 * time.Second, stale: true},
		{name: "request after response is ignored", h: Header{CacheControl: "max-age=60"}, req: t0.Add(time.Hour), storable: true, fresh: 60 * time.Second, stale: true},
		{name: "no-store", h: Header{CacheControl: "max-age=60, no-store"}},
		{name: "no-store upper case", h: Header{CacheControl: "NO-STORE"}},
		{name: "private", h: Header{CacheControl: "private, max-age=60"}},
		{name: "private with field names", h: Header{CacheControl: `private="Set-Cookie", max-age=60`}},
		{name: "public", h: Header{CacheControl: "public, max-age=60"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "no-cache never fresh, never stale", h: Header{CacheControl: "no-cache, max-age=60, stale-if-error=600"}, storable: true},
		{name: "no-cache with field names treated as no-cache", h: Header{CacheControl: `no-cache="Set-Cookie", max-age=60`}, storable: true},
		{name: "must-revalidate forbids stale", h: Header{CacheControl: "max-age=60, must-revalidate"}, storable: true, fresh: 60 * time.Second},
		{name: "proxy-revalidate forbids stale", h: Header{CacheControl: "max-age=60, proxy-revalidate"}, storable: true, fresh: 60 * time.Second},
		{name: "must-revalidate beats stale-if-error", h: Header{CacheControl: "max-age=60, stale-if-error=600, must-revalidate"}, storable: true, fresh: 60 * time.Second},
		{name: "stale-if-error window", h: Header{CacheControl: "max-age=60, stale-if-error=600"}, storable: true, fresh: 60 * time.Second, sie: 600 * time.Second, stale: true},
		{name: "stale-if-error counts from staleness", h: Header{CacheControl: "max-age=60, stale-if-error=600", Age: "100"}, storable: true, fresh: -40 * time.Second, sie: 600 * time.Second, stale: true},
		{name: "stale-while-revalidate ignored", h: Header{CacheControl: "max-age=60, stale-while-revalidate=30"}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "unknown extensions ignored", h: Header{CacheControl: `community="UCI", foo, max-age=5`}, storable: true, fresh: 5 * time.Second, stale: true},
		{name: "immutable ignored", h: Header{CacheControl: "max-age=5, immutable"}, storable: true, fresh: 5 * time.Second, stale: true},
		{name: "malformed max-age not stored", h: Header{CacheControl: "max-age=abc"}},
		{name: "negative max-age not stored", h: Header{CacheControl: "max-age=-5"}},
		{name: "max-age without value not stored", h: Header{CacheControl: "max-age"}},
		{name: "malformed hides no-store", h: Header{CacheControl: "max-age=abc, no-store"}},
		{name: "unterminated quote not stored", h: Header{CacheControl: `no-cache="Set-Cookie, max-age=60`}},
		{name: "argument to must-revalidate not stored", h: Header{CacheControl: "must-revalidate=1, max-age=60"}},
		{name: "Cache-Control too long not stored", h: Header{CacheControl: "max-age=60," + strings.Repeat(" ", MaxCacheControl)}},
		{name: "Cache-Control at the length limit", h: Header{CacheControl: "max-age=60" + strings.Repeat(" ", MaxCacheControl-10)}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "no headers: stored, stale at once", h: Header{}, storable: true, stale: true},
		{name: "no headers with Age", h: Header{Age: "30"}, storable: true, fresh: -30 * time.Second, stale: true},
		{name: "no freshness, status 201 not stored", h: Header{Status: 201}},
		{name: "no freshness, status 203 stored", h: Header{Status: 203}, storable: true, stale: true},
		{name: "public, status 201 stored", h: Header{CacheControl: "public", Status: 201}, storable: true, stale: true},
		{name: "max-age, status 201 stored", h: Header{CacheControl: "max-age=60", Status: 201}, storable: true, fresh: 60 * time.Second, stale: true},
		{name: "status 206 not stored", h: Header{CacheControl: "max-age=60", Status: 206}},
		{name: "status 304 not stored", h: Header{CacheControl: "max-age=60", Status: 304}},
		{name: "status 100 not stored", h: Header{CacheControl: "max-age=60", Status: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Freshness(tt.h, tt.req, t0)
			if !tt.storable {
				if p != (Policy{}) {
					t.Fatalf("Freshness(%+v) = %+v, want not storable (zero Policy)", tt.h, p)
				}
				return
			}
			if !p.Storable {
				t.Fatalf("Freshness(%+v) = %+v, want storable", tt.h, p)
			}
			if got := p.FreshUntil.Sub(t0); got != tt.fresh {
				t.Errorf("FreshUntil - response time = %v, want %v", got, tt.fresh)
			}
			if got := p.StaleIfErrorUntil.Sub(p.FreshUntil); got != tt.sie {
				t.Errorf("StaleIfErrorUntil - FreshUntil = %v, want %v", got, tt.sie)
			}
			if p.MayServeStale != tt.stale {
				t.Errorf("MayServeStale = %v, want %v", p.MayServeStale, tt.stale)
			}
		})
	}
}

// TestFreshnessKeepsMonotonic checks that FreshUntil derives from the
// response time, so comparisons with time.Now use the monotonic clock.
func TestFreshnessKeepsMonotonic(t *testing.T) {
	now := time.Now()
	p := Freshness(Header{CacheControl: "max-age=60", Date: httpDate(now)}, now, now)
	if p.FreshUntil.String() == p.FreshUntil.Round(0).String() {
		t.Errorf("FreshUntil %v lost the monotonic reading", p.FreshUntil)
	}
}
