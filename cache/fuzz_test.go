package cache

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzFreshness feeds arbitrary header strings to Freshness and Store and
// checks that nothing panics, that the Policy's invariants hold, and, for
// Cache-Control values without quoted strings, a few facts a naive token
// split can tell for certain.
func FuzzFreshness(f *testing.F) {
	seeds := []Header{
		{CacheControl: "max-age=60", Date: httpDate(t0)},
		{CacheControl: "s-maxage=10, max-age=60, stale-if-error=30"},
		{CacheControl: "no-cache=a,no-store"},
		{CacheControl: `private="x, y", max-age=3`},
		{CacheControl: "max-age=99999999999999999999, stale-if-error=99999999999999"},
		{CacheControl: "must-revalidate", Expires: "0", Age: "5"},
		{Expires: httpDate(t0.Add(time.Hour)), Date: "Mon, 01 Jan 0001 00:00:00 GMT", Age: "99999999999999999999999"},
		{CacheControl: `,,, ="", max-age=""`, Age: "1, 2", Status: 201},
	}
	for _, h := range seeds {
		f.Add(h.CacheControl, h.Expires, h.Date, h.Age, h.Status, int64(time.Second))
	}
	f.Fuzz(func(t *testing.T, cc, expires, date, age string, status int, delay int64) {
		h := Header{CacheControl: cc, Expires: expires, Date: date, Age: age, Status: status}
		req := t0.Add(-time.Duration(delay))
		p := Freshness(h, req, t0)
		if !p.Storable {
			if p != (Policy{}) {
				t.Fatalf("not storable but Policy %+v", p)
			}
		} else {
			if p.StaleIfErrorUntil.Before(p.FreshUntil) {
				t.Fatalf("StaleIfErrorUntil %v before FreshUntil %v", p.StaleIfErrorUntil, p.FreshUntil)
			}
			if !p.MayServeStale && !p.StaleIfErrorUntil.Equal(p.FreshUntil) {
				t.Fatalf("stale-if-error window without MayServeStale: %+v", p)
			}
			if d := p.FreshUntil.Sub(t0); d > maxDelta || d < -3*maxDelta {
				t.Fatalf("FreshUntil - response time = %v, out of [-3, 1] * 2^31s", d)
			}
			if d := p.StaleIfErrorUntil.Sub(p.FreshUntil); d > maxDelta {
				t.Fatalf("stale-if-error window %v beyond 2^31s", d)
			}
		}

		c := New(Config{Now: func() time.Time { return t0 }})
		stored := c.Store("u", []int64{1}, h, req, t0)
		if stored != (c.Len() == 1) || (stored && c.Bytes() != 8+1+entryOverhead) {
			t.Fatalf("Store = %v but Len %d, Bytes %d", stored, c.Len(), c.Bytes())
		}

		if strings.Contains(cc, `"`) {
			return // a naive split cannot see through quoted strings
		}
		has := func(tok string) bool {
			for el := range strings.SplitSeq(strings.ToLower(cc), ",") {
				if strings.TrimSpace(el) == tok {
					return true
				}
			}
			return false
		}
		neverFresh := !p.FreshUntil.After(t0)
		switch {
		case (has("no-store") || has("private") || has("no-cache")) && stored:
			t.Fatalf("Store stored despite no-store, private or no-cache: %+v", h)
		case has("no-cache") && (p.MayServeStale || !neverFresh):
			t.Fatalf("no-cache but usable: %+v", p)
		case (has("must-revalidate") || has("proxy-revalidate")) && p.MayServeStale:
			t.Fatalf("revalidation required but MayServeStale: %+v", p)
		case !strings.Contains(strings.ToLower(cc), "max") && strings.TrimSpace(expires) == "" && !neverFresh:
			t.Fatalf("fresh without explicit freshness (heuristics): %+v", p)
		}
	})
}

// FuzzFreshnessOracle builds well-formed headers from numbers and compares
// Freshness with the RFC 9111 arithmetic done naively in whole seconds.
func FuzzFreshnessOracle(f *testing.F) {
	f.Add(int64(60), int64(-1), int64(-1), int64(0), int64(0), int64(0), int64(0), uint8(0))
	f.Add(int64(60), int64(120), int64(30), int64(5), int64(-20), int64(100), int64(2), uint8(8))
	f.Add(int64(-1), int64(-1), int64(600), int64(3), int64(-5), int64(90), int64(1), uint8(32))
	f.Add(int64(-1), int64(-1), int64(-1), int64(0), int64(50), int64(-90), int64(0), uint8(32|4))
	f.Fuzz(func(t *testing.T, maxAge, sMaxAge, sie, age, dateOff, expDelta, delay int64, flags uint8) {
		// Keep every value below the 2^31 caps so the oracle stays naive.
		bound := func(v, n int64) int64 {
			if v < 0 {
				return -1
			}
			return v % n
		}
		maxAge, sMaxAge, sie = bound(maxAge, 2e9), bound(sMaxAge, 2e9), bound(sie, 2e9)
		age, delay = max(bound(age, 1e9), 0), max(bound(delay, 1e4), 0)
		dateOff, expDelta = dateOff%1e8, expDelta%1e8
		noStore, private, noCache, mustRevalidate := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
		useExpires := flags&32 != 0

		var dirs []string
		add := func(on bool, s string) {
			if on {
				dirs = append(dirs, s)
			}
		}
		add(maxAge >= 0, fmt.Sprintf("max-age=%d", maxAge))
		add(sMaxAge >= 0, fmt.Sprintf("s-maxage=%d", sMaxAge))
		add(sie >= 0, fmt.Sprintf("stale-if-error=%d", sie))
		add(noStore, "no-store")
		add(private, "private")
		add(noCache, "no-cache")
		add(mustRevalidate, "must-revalidate")
		date := t0.Add(time.Duration(dateOff) * time.Second)
		h := Header{CacheControl: strings.Join(dirs, ", "), Date: httpDate(date), Age: fmt.Sprint(age)}
		if useExpires {
			h.Expires = httpDate(date.Add(time.Duration(expDelta) * time.Second))
		}
		p := Freshness(h, t0.Add(-time.Duration(delay)*time.Second), t0)

		if noStore || private {
			if p.Storable {
				t.Fatalf("%+v: stored despite no-store or private", h)
			}
			return
		}
		var lifetime int64
		switch {
		case noCache:
		case sMaxAge >= 0:
			lifetime = sMaxAge
		case maxAge >= 0:
			lifetime = maxAge
		case useExpires:
			lifetime = max(expDelta, 0)
		}
		initialAge := max(-dateOff, 0, age+delay)
		mayStale := !noCache && !mustRevalidate && sMaxAge < 0
		window := int64(0)
		if mayStale && sie > 0 {
			window = sie
		}
		want := Policy{
			Storable:          true,
			FreshUntil:        t0.Add(time.Duration(lifetime-initialAge) * time.Second),
			StaleIfErrorUntil: t0.Add(time.Duration(lifetime-initialAge+window) * time.Second),
			MayServeStale:     mayStale,
		}
		if p != want {
			t.Fatalf("Freshness(%+v)\n got %+v\nwant %+v", h, p, want)
		}
	})
}
