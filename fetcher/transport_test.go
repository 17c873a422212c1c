package fetcher

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"numbers/internal/testupstream"
	"numbers/outcome"
)

func TestFetchTransportFailures(t *testing.T) {
	raw := func(reply string) func(t *testing.T) string {
		return func(t *testing.T) string { return testupstream.Start(t, testupstream.Raw(reply)).URL }
	}
	cases := []struct {
		name      string
		retryable bool // a fast failure the layer above may retry once
		url       func(t *testing.T) string
	}{
		{"connection refused", true, func(t *testing.T) string { return testupstream.RefusedURL(t) }},
		// fasthttp reports a reset before the first byte as a closed connection,
		// which the fetcher has already retried once.
		// The reset comes after the request was read, so the write succeeded.
		{"connection reset", false, func(t *testing.T) string {
			srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					_ = conn.Close()
				}
			})
			return srv.URL
		}},
		{"closed before the first byte", false, raw("")},
		{"garbage instead of HTTP", false, raw("SSH-2.0-OpenSSH_9.6\r\n\r\n")},
		{"body cut short", false, raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"numbers\":[1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			c := newClient(t, Config{})
			_, err := fetchWithin(t, c, url, budget)
			wantKind(t, err, ErrTransport)
			if OutcomeOf(err) != outcome.Failed {
				t.Errorf("OutcomeOf = %v, want failed", OutcomeOf(err))
			}
			if got := Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if !HostFault(err) {
				t.Errorf("HostFault(%v) = false, want true", err)
			}
		})
	}
}

// TestFetchUnresolvableHost uses the reserved .invalid TLD (RFC 6761), which
// never resolves: the failure must be a transport failure or a timeout, and bounded.
func TestFetchUnresolvableHost(t *testing.T) {
	c := newClient(t, Config{})
	_, err := fetchWithin(t, c, "http://no-such-upstream.invalid/numbers", time.Second)
	if !errIsOneOf(err, ErrTransport, ErrTimeout) {
		t.Fatalf("error %v, want ErrTransport or ErrTimeout", err)
	}
}

func errIsOneOf(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// redirector serves /r/N, which redirects with code to /r/N-1, down to /r/0,
// which answers {"numbers":[N]}; it records the method of every request.
func redirector(t *testing.T, code int, location func(n int) string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		hits.Add(1)
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if err != nil || r.Method != http.MethodGet {
			http.Error(w, "bad request "+r.Method+" "+r.URL.Path, 400)
			return
		}
		if n == 0 {
			_, _ = w.Write([]byte(`{"numbers":[42]}`))
			return
		}
		w.Header().Set("Location", location(n-1))
		w.WriteHeader(code)
	})
	return srv, &hits
}

func TestFetchRedirects(t *testing.T) {
	relative := func(n int) string { return strconv.Itoa(n) }       // resolved against /r/
	rooted := func(n int) string { return fmt.Sprintf("/r/%d", n) } // absolute path
	cases := []struct {
		name  string
		code  int
		loc   func(n int) string
		start int
		hits  int64
		kind  error // nil: success with [42]
	}{
		{"301 chain of 3", 301, rooted, 3, 4, nil},
		{"302 chain of 3", 302, rooted, 3, 4, nil},
		{"303 chain of 3 as GET", 303, rooted, 3, 4, nil},
		{"307 chain of 3", 307, rooted, 3, 4, nil},
		{"308 chain of 3", 308, rooted, 3, 4, nil},
		{"relative Location", 302, relative, 2, 3, nil},
		{"chain of 4", 302, rooted, 4, 4, ErrTransport},
		{"chain of 100", 302, rooted, 100, 4, ErrTransport},
		{"loop", 302, func(int) string { return "/r/1" }, 1, 4, ErrTransport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := redirector(t, tc.code, tc.loc)
			c := newClient(t, Config{})
			resp, err := fetchWithin(t, c, fmt.Sprintf("%s/r/%d", srv.URL, tc.start), budget)
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
			} else if err != nil {
				t.Fatal(err)
			} else if !equal(resp.Numbers, []int64{42}) {
				t.Fatalf("Numbers = %v, want [42]", resp.Numbers)
			}
			if n := hits.Load(); n != tc.hits {
				t.Errorf("upstream saw %d requests, want %d", n, tc.hits)
			}
		})
	}
}

func TestFetchRedirectLimits(t *testing.T) {
	cases := []struct {
		name         string
		maxRedirects int
		start        int
		ok           bool
	}{
		{"none allowed, none made", -1, 0, true},
		{"none allowed, one made", -1, 1, false},
		{"one allowed, one made", 1, 1, true},
		{"one allowed, two made", 1, 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := redirector(t, 302, func(n int) string { return fmt.Sprintf("/r/%d", n) })
			c := newClient(t, Config{MaxRedirects: tc.maxRedirects})
			_, err := fetchWithin(t, c, fmt.Sprintf("%s/r/%d", srv.URL, tc.start), budget)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				wantKind(t, err, ErrTransport)
			}
		})
	}
}

func TestFetchRedirectToAnotherHost(t *testing.T) {
	hosts := make(chan string, 1)
	target := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		hosts <- r.Host
		_, _ = w.Write([]byte(`{"numbers":[2,1]}`))
	})
	origin := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		http.Redirect(w, r, target.URL+"/there", http.StatusFound)
	})
	c := newClient(t, Config{})
	resp, err := fetchWithin(t, c, origin.URL+"/here", budget)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(resp.Numbers, []int64{1, 2}) {
		t.Errorf("Numbers = %v, want [1 2]", resp.Numbers)
	}
	if want := strings.TrimPrefix(target.URL, "http://"); <-hosts != want {
		t.Errorf("the redirect target was not sent its own Host %q", want)
	}
}

func TestFetchRedirectToUnsupportedScheme(t *testing.T) {
	var targetHits atomic.Int64
	target := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		targetHits.Add(1)
		_, _ = w.Write([]byte(`{"numbers":[1]}`))
	})
	for _, scheme := range []string{"ftp", "file", "gopher"} {
		t.Run(scheme, func(t *testing.T) {
			loc := scheme + "://" + strings.TrimPrefix(target.URL, "http://") + "/x"
			origin := testupstream.Start(t, testupstream.Reply(302, "", "Location", loc))
			c := newClient(t, Config{})
			_, err := fetchWithin(t, c, origin.URL, budget)
			wantKind(t, err, ErrTransport)
		})
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the target of a non-HTTP redirect saw %d requests", n)
	}
}
