package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"numbers/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

// start runs a server for one test and shuts it down at the end.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, url, err := Start(cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, url
}

// client never follows redirects and never reuses connections, so that tests stay independent.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type result struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

func decode(t *testing.T, body, key string) []int64 {
	t.Helper()
	var m map[string][]int64
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	list, ok := m[key]
	if !ok {
		t.Fatalf("body %q: no key %q", body, key)
	}
	return list
}

func TestClassicRoutes(t *testing.T) {
	_, url := start(t, Config{Seed: 1})
	c := client(t)
	want := map[string]string{
		"/primes": `{"Numbers":[2,3,5,7,11,13]}`,
		"/fibo":   `{"Numbers":[1,1,2,3,5,8,13,21]}`,
		"/odd":    `{"Numbers":[1,3,5,7,9,11,13,15,17,19,21,23]}`,
		"/rand":   `{"Numbers":[5,17,3,19,76,24,1,5,10,34,8,27,7]}`,
	}
	for path, body := range want {
		t.Run(path, func(t *testing.T) {
			r := get(t, c, url+path+"?delay=0&fail=0")
			if r.status != 200 || r.body != body || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q %q, want 200 %q", r.status, r.header.Get("Content-Type"), r.body, body)
			}
		})
	}
	t.Run("fails about one time in ten", func(t *testing.T) {
		failed := 0
		for range 200 {
			r := get(t, c, url+"/primes?delay=0")
			switch {
			case r.status == 503:
				failed++
			case r.body != want["/primes"]:
				t.Fatalf("got %d %q", r.status, r.body)
			}
		}
		if failed < 5 || failed > 45 {
			t.Errorf("%d of 200 failed, want about 20", failed)
		}
	})
	t.Run("delay within 0-550ms", func(t *testing.T) {
		p, _ := Classic("/fibo")
		r := rng{seeded: true}
		for range 1000 {
			if d := p.sampleDelay(&r); d < 0 || d > 550*time.Millisecond {
				t.Fatalf("delay %v", d)
			}
		}
	})
}

// TestNonce checks that a nonce changes nothing in the answer, on the classic and generic routes.
func TestNonce(t *testing.T) {
	_, url := start(t, Config{Seed: 3})
	c := client(t)
	for _, q := range []string{"/primes?delay=0&fail=0", "/rand?delay=0&fail=0&order=random", "/numbers?n=50", "/numbers?"} {
		t.Run(q, func(t *testing.T) {
			want := get(t, c, url+q)
			for _, nonce := range []string{"nonce=1", "nonce=k2x9f-17", "nonce="} {
				if r := get(t, c, url+q+"&"+nonce); r.status != 200 || r.body != want.body {
					t.Errorf("%s: got %d %q, want 200 %q", nonce, r.status, r.body, want.body)
				}
			}
		})
	}
}

func TestPayload(t *testing.T) {
	_, url := start(t, Config{Seed: 42})
	c := client(t)
	cases := []struct {
		name, query, key string
		check            func(t *testing.T, list []int64)
	}{
		{"default 20 in 0..1000", "", "numbers", func(t *testing.T, l []int64) { checkRange(t, l, 20, 0, 1000) }},
		{"n and range", "n=500&min=-5&max=5", "numbers", func(t *testing.T, l []int64) { checkRange(t, l, 500, -5, 5) }},
		{"n=0", "n=0", "numbers", func(t *testing.T, l []int64) { checkRange(t, l, 0, 0, 0) }},
		{"asc", "n=100&order=asc", "numbers", func(t *testing.T, l []int64) { checkSorted(t, l, 1) }},
		{"desc", "n=100&order=desc", "numbers", func(t *testing.T, l []int64) { checkSorted(t, l, -1) }},
		{"key", "key=Values&n=3", "Values", func(t *testing.T, l []int64) { checkRange(t, l, 3, 0, 1000) }},
		{"full int64 range", "n=50&min=-9223372036854775808&max=9223372036854775807", "numbers",
			func(t *testing.T, l []int64) { checkRange(t, l, 50, -1<<63, 1<<63-1) }},
		{"dup half", "n=1000&min=0&max=1000000000&dup=0.5", "numbers", func(t *testing.T, l []int64) {
			if d := dups(l); d < 450 || d > 550 {
				t.Errorf("%d duplicates of 1000, want about 500", d)
			}
		}},
		{"dup all", "n=10&dup=1", "numbers", func(t *testing.T, l []int64) {
			if d := dups(l); d != 9 {
				t.Errorf("%d duplicates of 10, want 9", d)
			}
		}},
		{"classic list sorted", "order=desc", "Numbers", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/numbers?"
			if tc.key == "Numbers" {
				path = "/fibo?delay=0&fail=0&"
			}
			r := get(t, c, url+path+tc.query)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			list := decode(t, r.body, tc.key)
			if tc.check != nil {
				tc.check(t, list)
			} else if fmt.Sprint(list) != "[21 13 8 5 3 2 1 1]" {
				t.Errorf("got %v", list)
			}
		})
	}
	t.Run("pretty", func(t *testing.T) {
		r := get(t, c, url+"/numbers?n=2&pretty=1&order=asc&min=1&max=1")
		if want := "{\n  \"numbers\": [\n    1,\n    1\n  ]\n}"; r.body != want {
			t.Errorf("got %q, want %q", r.body, want)
		}
	})
	t.Run("seeds", func(t *testing.T) {
		a := get(t, c, url+"/numbers?seed=7").body
		if b := get(t, c, url+"/numbers?seed=7").body; a != b {
			t.Errorf("same seed, different bodies %q %q", a, b)
		}
		if b := get(t, c, url+"/numbers?seed=8").body; a == b {
			t.Errorf("different seeds, same body %q", a)
		}
		// The server seed fixes payloads across servers.
		_, url2 := start(t, Config{Seed: 42})
		if x, y := get(t, c, url+"/numbers?n=30").body, get(t, c, url2+"/numbers?n=30").body; x != y {
			t.Errorf("same server seed, different bodies %q %q", x, y)
		}
	})
}

func checkRange(t *testing.T, l []int64, n int, lo, hi int64) {
	t.Helper()
	if len(l) != n {
		t.Fatalf("got %d numbers, want %d", len(l), n)
	}
	for _, v := range l {
		if v < lo || v > hi {
			t.Fatalf("%d outside %d..%d", v, lo, hi)
		}
	}
}

func checkSorted(t *testing.T, l []int64, dir int64) {
	t.Helper()
	for i := 1; i < len(l); i++ {
		if (l[i]-l[i-1])*dir < 0 {
			t.Fatalf("not sorted at %d: %v", i, l)
		}
	}
}

func dups(l []int64) int {
	seen := map[int64]bool{}
	d := 0
	for _, v := range l {
		if seen[v] {
			d++
		}
		seen[v] = true
	}
	return d
}

func TestBadInput(t *testing.T) {
	_, url := start(t, Config{})
	c := client(t)
	cases := []struct {
		name, path string
		status     int
	}{
		{"unknown path", "/nope", 404},
		{"root", "/", 404},
		{"unknown parameter", "/numbers?bogus=1", 400},
		{"n not a number", "/numbers?n=abc", 400},
		{"n too big", "/numbers?n=10000001", 400},
		{"min above max", "/numbers?min=5&max=4", 400},
		{"bad order", "/numbers?order=sideways", 400},
		{"bad duration", "/numbers?delay=5", 400},
		{"negative delay", "/numbers?delay=-1s", 400},
		{"bad dist", "/numbers?dist=cauchy", 400},
		{"lognormal without p99", "/numbers?dist=lognormal&p50=10ms", 400},
		{"uniform lo above hi", "/numbers?dist=uniform&lo=2s&hi=1s", 400},
		{"delay and dist", "/numbers?delay=1s&dist=uniform&lo=0s&hi=1s", 400},
		{"fail above 1", "/numbers?fail=1.5", 400},
		{"fail NaN", "/numbers?fail=NaN", 400},
		{"bad status", "/numbers?status=99", 400},
		{"bad mode", "/numbers?mode=explode", 400},
		{"bad types", "/numbers?mode=wrongtype&types=bool", 400},
		{"bad size", "/numbers?mode=huge&size=1TB", 400},
		{"empty key", "/numbers?key=", 400},
		{"cc with newline", "/numbers?cc=a%0d%0aX-Evil:1", 400},
		{"bad pretty", "/numbers?pretty=yes", 400},
		{"every zero", "/numbers?every=0s", 400},
		{"classic too", "/primes?n=-1", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, c, url+tc.path)
			var e struct{ Error string }
			if r.status != tc.status || json.Unmarshal([]byte(r.body), &e) != nil || e.Error == "" {
				t.Errorf("got %d %q, want %d with a JSON error", r.status, r.body, tc.status)
			}
		})
	}
}

func TestFailuresAndCaching(t *testing.T) {
	_, url := start(t, Config{Seed: 3})
	c := client(t)
	t.Run("fail=1 status=500", func(t *testing.T) {
		if r := get(t, c, url+"/numbers?fail=1&status=500"); r.status != 500 || !strings.Contains(r.body, `"error"`) {
			t.Errorf("got %d %q", r.status, r.body)
		}
	})
	t.Run("caching headers", func(t *testing.T) {
		r := get(t, c, url+"/numbers?cc=public,%20max-age%3D60&age=7&expires=1h")
		if r.header.Get("Cache-Control") != "public, max-age=60" || r.header.Get("Age") != "7" {
			t.Errorf("headers %v", r.header)
		}
		date, err1 := http.ParseTime(r.header.Get("Date"))
		exp, err2 := http.ParseTime(r.header.Get("Expires"))
		if err1 != nil || err2 != nil || exp.Sub(date) < 59*time.Minute || exp.Sub(date) > 61*time.Minute {
			t.Errorf("Date %v Expires %v (%v %v)", date, exp, err1, err2)
		}
	})
	t.Run("date offset", func(t *testing.T) {
		r := get(t, c, url+"/numbers?date=-24h&n=1")
		date, err := http.ParseTime(r.header.Get("Date"))
		if off := time.Since(date); err != nil || off < 23*time.Hour || off > 25*time.Hour || r.status != 200 {
			t.Errorf("Date %q is %v old, want 24h (%v); body %q", r.header.Get("Date"), off, err, r.body)
		}
		decode(t, r.body, "numbers")
	})
	t.Run("html", func(t *testing.T) {
		r := get(t, c, url+"/numbers?mode=html")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "<html>") {
			t.Errorf("got %d %v %q", r.status, r.header, r.body)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		r := get(t, c, url+"/numbers?mode=malformed")
		if r.status != 200 || json.Valid([]byte(r.body)) {
			t.Errorf("got %d %q, want invalid JSON", r.status, r.body)
		}
	})
	for _, typ := range []string{"string", "float", "null", "overflow", "object"} {
		t.Run("wrongtype "+typ, func(t *testing.T) {
			r := get(t, c, url+"/numbers?mode=wrongtype&types="+typ)
			var m struct{ Numbers []int64 }
			err := json.Unmarshal([]byte(r.body), &m)
			if !json.Valid([]byte(r.body)) || (err == nil && m.Numbers != nil) {
				t.Errorf("got %q: want valid JSON that is not a list of int64", r.body)
			}
		})
	}
	t.Run("mode with probability", func(t *testing.T) {
		html := 0
		for range 100 {
			if r := get(t, c, url+"/numbers?mode=html&p=0.5"); strings.Contains(r.body, "<html>") {
				html++
			}
		}
		if html < 25 || html > 75 {
			t.Errorf("%d of 100 html, want about 50", html)
		}
	})
}

func TestRedirects(t *testing.T) {
	s, url := start(t, Config{})
	t.Run("chain", func(t *testing.T) {
		hops := 0
		c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			hops++
			return nil
		}}
		resp, err := c.Get(url + "/numbers?mode=redirect&hops=3&n=4")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
		if n := s.routes["/numbers"].count.Load(); hops != 3 || len(decode(t, string(b), "numbers")) != 4 || n != 4 {
			t.Errorf("hops %d, body %q, count %d", hops, b, n)
		}
	})
	t.Run("loop", func(t *testing.T) {
		r := get(t, client(t), url+"/numbers?mode=loop&key=%2F")
		if r.status != 302 || r.header.Get("Location") != "/numbers?mode=loop&key=%2F" {
			t.Errorf("got %d Location %q", r.status, r.header.Get("Location"))
		}
	})
}

func TestStats(t *testing.T) {
	_, url := start(t, Config{Endpoints: map[string]Params{"/x": mustParams(t, "n=3&key=v")}})
	c := client(t)
	for range 3 {
		get(t, c, url+"/primes?delay=0&fail=0")
	}
	get(t, c, url+"/x")
	get(t, c, url+"/missing")
	type stats struct {
		Paths    map[string]uint64
		Total    uint64
		NotFound uint64
	}
	var st stats
	if err := json.Unmarshal([]byte(get(t, c, url+"/stats").body), &st); err != nil {
		t.Fatal(err)
	}
	_, missing := st.Paths["/missing"]
	if st.Paths["/primes"] != 3 || st.Paths["/x"] != 1 || st.Paths["/fibo"] != 0 || missing || st.Total != 4 || st.NotFound != 1 {
		t.Errorf("stats %+v", st)
	}
	get(t, c, url+"/stats/reset")
	st = stats{}
	if err := json.Unmarshal([]byte(get(t, c, url+"/stats").body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Paths["/primes"] != 0 || st.Paths["/x"] != 0 || st.Total != 0 || st.NotFound != 0 {
		t.Errorf("stats after reset %+v", st)
	}
}

func mustParams(t *testing.T, q string) Params {
	t.Helper()
	p, err := ParseParams(q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
