package caller

import (
	"context"
	"errors"
	stdio "io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"numbers/internal/testupstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun sends a short load to a target that answers two numbers and 503s
// one request in four: every request is counted once, by what became of it,
// and each carries i= on every u value.
func TestRun(t *testing.T) {
	var n atomic.Int64
	var seen atomic.Int64 // requests whose u values carried i=
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		if us := r.URL.Query()["u"]; len(us) == 2 && strings.Contains(us[0], "?i=") && strings.Contains(us[1], "&i=") {
			seen.Add(1)
		}
		if n.Add(1)%4 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"numbers":[1,2]}`))
	})
	res, err := Run(context.Background(), Load{
		URL:  srv.URL + "/numbers?u=" + url.QueryEscape("http://a/x") + "&u=" + url.QueryEscape("http://a/y?k=1"),
		Rate: 40, Duration: 200 * time.Millisecond, Distinct: true, Budget: time.Minute, Universe: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 8 || res.OK != 6 || res.Refused != 2 || res.Failed != 0 || res.Late != 0 || res.OnTime != 6 {
		t.Fatalf("%+v; want 8 requests: 6 ok and on time, 2 refused", res)
	}
	if res.MeanLength != 2 || res.Completeness != 0.5 {
		t.Errorf("mean length %g, completeness %g; want 2, 0.5", res.MeanLength, res.Completeness)
	}
	if seen.Load() != 8 {
		t.Errorf("%d requests had i= on every u value; want 8", seen.Load())
	}
}

// TestSummarize: lateness is counted from the intended send and from the
// actual send, of every status; on-time counts only well-formed answers.
func TestSummarize(t *testing.T) {
	const budget = 500 * time.Millisecond
	samples := []sample{
		{status: 200, decodedOK: true, length: 3, fromDue: 400 * time.Millisecond, fromSent: 390 * time.Millisecond},
		{status: 200, decodedOK: true, length: 1, fromDue: 600 * time.Millisecond, fromSent: 450 * time.Millisecond, lag: 150 * time.Millisecond},
		{status: 200, decodedOK: true, length: 2, fromDue: 700 * time.Millisecond, fromSent: 650 * time.Millisecond},
		{status: 503, fromDue: 800 * time.Millisecond, fromSent: 790 * time.Millisecond},
		{status: 0, fromDue: 10 * time.Millisecond, fromSent: 10 * time.Millisecond},
	}
	r := summarize(samples, Load{Rate: 5, Duration: time.Second, Universe: 4}, budget)
	if r.Requests != 5 || r.OK != 3 || r.Refused != 1 || r.Failed != 1 {
		t.Fatalf("%+v; want 3 ok, 1 refused, 1 failed", r)
	}
	if r.Late != 3 || r.LateSent != 2 || r.OnTime != 1 {
		t.Errorf("late %d, from send %d, on time %d; want 3, 2, 1", r.Late, r.LateSent, r.OnTime)
	}
	if r.MeanLength != 2 || r.Completeness != 0.5 || r.MaxLagMs != 150 || r.MaxMs != 800 {
		t.Errorf("length %g, completeness %g, max lag %g, max %g; want 2, 0.5, 150, 800", r.MeanLength, r.Completeness, r.MaxLagMs, r.MaxMs)
	}
}

func TestRunLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://example.com/numbers", "https://127.0.0.1/numbers", "::bad"} {
		if _, err := Run(context.Background(), Load{URL: u, Rate: 1, Duration: time.Millisecond}); !errors.Is(err, ErrTarget) {
			t.Errorf("%s: %v; want ErrTarget", u, err)
		}
	}
}

// TestUpstreams: the classic routes answer their lists (or a 503), the big
// ones 20,000 numbers at once, and the universes count the distinct numbers.
func TestUpstreams(t *testing.T) {
	u, err := StartUpstreams()
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if u.ClassicUniverse != 19 || u.BigUniverse != 4*BigSize {
		t.Fatalf("universes %d, %d; want 19, %d", u.ClassicUniverse, u.BigUniverse, 4*BigSize)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(u.URL + BigPaths[1])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, _ = readAll(resp, &b)
	if resp.StatusCode != 200 || !strings.HasPrefix(b.String(), `{"Numbers":[1,5,9,`) {
		t.Fatalf("%s: %d %.40s", BigPaths[1], resp.StatusCode, b.String())
	}
	for range 20 { // one in ten is a 503: twenty tries see a list
		resp, err := client.Get(u.URL + "/primes")
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		_, _ = readAll(resp, &b)
		if resp.StatusCode == 200 {
			if b.String() != `{"Numbers":[2,3,5,7,11,13]}` {
				t.Fatalf("/primes: %s", b.String())
			}
			return
		}
	}
	t.Fatal("/primes never answered 200 in 20 tries")
}

// readAll copies resp's body into b and closes it.
func readAll(resp *http.Response, b *strings.Builder) (int64, error) {
	defer resp.Body.Close()
	return stdio.Copy(b, resp.Body)
}
