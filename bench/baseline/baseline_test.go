package baseline

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"numbers/internal/testupstream"
)

// upstreams starts a fake upstream: /a, /b answer, /fail is a 503, /float and
// /null are invalid, /hang answers only when the client goes away.
func upstreams(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"Numbers":[5,1,3,3]}`) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"numbers": [2, 3, -7], "x": 1}`) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"numbers":[100]}`)
	})
	mux.HandleFunc("/float", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"numbers":[1.5]}`) })
	mux.HandleFunc("/null", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"numbers":null}`) })
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections) // after the server stops
	return testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { mux.ServeHTTP(w, r) }).URL
}

func TestBaseline(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first, so it runs last
	up := upstreams(t)
	svc := httptest.NewServer(New(Config{Budget: 300 * time.Millisecond}))
	defer svc.Close()
	for _, tc := range []struct {
		name     string
		us       []string
		body     string
		complete string
		outcomes string
	}{
		{"none", nil, `{"numbers":[]}`, "true", "ok=0,failed=0,timeout=0,invalid=0"},
		{"merge", []string{up + "/a", up + "/b", up + "/a#frag"}, `{"numbers":[-7,1,2,3,5]}`, "true", "ok=2,failed=0,timeout=0,invalid=0"},
		{"failures", []string{up + "/a", up + "/fail", up + "/float", up + "/null", "ftp://x/", "/rel"}, `{"numbers":[1,3,5]}`, "false", "ok=1,failed=3,timeout=0,invalid=2"},
		{"hang", []string{up + "/b", up + "/hang"}, `{"numbers":[-7,2,3]}`, "false", "ok=1,failed=0,timeout=1,invalid=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"u": tc.us}
			start := time.Now()
			resp, err := http.Get(svc.URL + "/numbers?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if elapsed := time.Since(start); elapsed > 300*time.Millisecond+2*time.Second {
				t.Fatalf("answered after %v, budget 300ms", elapsed)
			}
			if resp.StatusCode != 200 || string(body) != tc.body {
				t.Fatalf("got %d %s, want %s", resp.StatusCode, body, tc.body)
			}
			if got := resp.Header.Get("X-Numbers-Complete"); got != tc.complete {
				t.Errorf("complete %q, want %q", got, tc.complete)
			}
			if got := resp.Header.Get("X-Numbers-Outcomes"); got != tc.outcomes {
				t.Errorf("outcomes %q, want %q", got, tc.outcomes)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		small := httptest.NewServer(New(Config{MaxURLs: 1}))
		defer small.Close()
		resp, err := http.Get(small.URL + "/numbers?u=http://127.0.0.1:1/a&u=http://127.0.0.1:1/b")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})
	http.DefaultClient.CloseIdleConnections()
}
