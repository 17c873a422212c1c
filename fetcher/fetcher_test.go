package fetcher

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"numbers/internal/leaktest"
	"numbers/internal/testupstream"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

// budget is the deadline most tests give a fetch; slack is how much longer a
// fetch may take to return before a test calls it unbounded.
const (
	budget = 2 * time.Second
	slack  = 2 * time.Second
)

// newClient returns a Client whose idle connections are closed at cleanup.
func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c := New(cfg)
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

// fetchWithin fetches url with a deadline d from now and fails the test if
// Fetch did not return within d plus slack.
func fetchWithin(t testing.TB, c *Client, url string, d time.Duration) (Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	resp, err := c.Fetch(ctx, url)
	if took := time.Since(start); took > d+slack {
		t.Errorf("Fetch took %v with a deadline of %v", took, d)
	}
	return resp, err
}

// wantKind fails the test unless err wraps kind, and exactly one kind.
func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want kind %v", err, kind)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *fetcher.Error", err)
	}
	n := 0
	for _, k := range []error{ErrTimeout, ErrDenied, ErrTransport, ErrStatus, ErrBody, ErrTooLarge} {
		if errors.Is(err, k) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d kinds, want exactly one", err, n)
	}
}

func TestFetchDecodes(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []int64
	}{
		{"compact", `{"numbers":[1,2,3]}`, []int64{1, 2, 3}},
		{"whitespace everywhere", " \n\t{ \r\n \"numbers\" \t:\n [ 3 ,\n\t1 , 2 ] \n} \r\n", []int64{1, 2, 3}},
		{"capitalised key", `{"Numbers":[5,4]}`, []int64{4, 5}},
		{"extra keys ignored", `{"a":1,"numbers":[7],"b":{"numbers":[8]},"c":[null,"x",1.5]}`, []int64{7}},
		{"unsorted with duplicates", `{"numbers":[5,3,5,1,3,1,9]}`, []int64{1, 3, 5, 9}},
		{"empty array", `{"numbers":[]}`, []int64{}},
		{"negative", `{"numbers":[-1,0,-20,3]}`, []int64{-20, -1, 0, 3}},
		{"int64 extremes", `{"numbers":[9223372036854775807,-9223372036854775808]}`,
			[]int64{-9223372036854775808, 9223372036854775807}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testupstream.Start(t, testupstream.Reply(200, tc.body, "Content-Type", "application/json"))
			c := newClient(t, Config{})
			resp, err := fetchWithin(t, c, srv.URL, budget)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Numbers == nil || !slices.Equal(resp.Numbers, tc.want) {
				t.Fatalf("Numbers = %#v, want %#v", resp.Numbers, tc.want)
			}
		})
	}
}

func TestFetchRequestAndResponseHeaders(t *testing.T) {
	type seen struct{ accept, ua, method string }
	got := make(chan seen, 1)
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		got <- seen{r.Header.Get("Accept"), r.Header.Get("User-Agent"), r.Method}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=60, stale-if-error=30")
		h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		h.Set("Date", "Wed, 21 Oct 2015 07:28:00 GMT")
		h.Set("Age", "12")
		_, _ = w.Write([]byte(`{"numbers":[1]}`))
	})
	c := newClient(t, Config{UserAgent: "numbers-test/1.0"})
	resp, err := fetchWithin(t, c, srv.URL, budget)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.accept != "application/json" || s.ua != "numbers-test/1.0" || s.method != "GET" {
		t.Errorf("request Accept %q, User-Agent %q, method %q", s.accept, s.ua, s.method)
	}
	want := Response{
		CacheControl: "public, max-age=60, stale-if-error=30",
		Expires:      "Thu, 01 Jan 2099 00:00:00 GMT",
		Date:         "Wed, 21 Oct 2015 07:28:00 GMT",
		Age:          "12",
	}
	if resp.CacheControl != want.CacheControl || resp.Expires != want.Expires ||
		resp.Date != want.Date || resp.Age != want.Age {
		t.Errorf("caching headers %q %q %q %q, want %q %q %q %q",
			resp.CacheControl, resp.Expires, resp.Date, resp.Age,
			want.CacheControl, want.Expires, want.Date, want.Age)
	}
	if resp.Sent.IsZero() || resp.Received.Before(resp.Sent) {
		t.Errorf("Sent %v, Received %v: want Sent <= Received", resp.Sent, resp.Received)
	}
}

func TestFetchDefaultUserAgentAndAbsentHeaders(t *testing.T) {
	got := make(chan string, 1)
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		got <- r.Header.Get("User-Agent")
		w.Header()["Date"] = nil // net/http adds one unless told not to
		_, _ = w.Write([]byte(`{"numbers":[1]}`))
	})
	c := newClient(t, Config{})
	resp, err := fetchWithin(t, c, srv.URL, budget)
	if err != nil {
		t.Fatal(err)
	}
	if ua := <-got; ua != "numbers" {
		t.Errorf("User-Agent %q, want the default %q", ua, "numbers")
	}
	if resp.CacheControl != "" || resp.Expires != "" || resp.Date != "" || resp.Age != "" {
		t.Errorf("absent caching headers came back as %q %q %q %q",
			resp.CacheControl, resp.Expires, resp.Date, resp.Age)
	}
}
