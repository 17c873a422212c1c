package caller

import (
	"context"
	"errors"
	stdio "io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun sends a short load to a target that answers two numbers, 503s one
// request in four and is late on one in four: every request is counted once,
// by what became of it.
func TestRun(t *testing.T) {
	var n atomic.Int64
	var seen atomic.Int64 // requests whose u values carried i=
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if us := r.URL.Query()["u"]; len(us) == 2 && strings.Contains(us[0], "?i=") && strings.Contains(us[1], "&i=") {
			seen.Add(1)
		}
		switch n.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case 2:
			<-release // late: held past the budget, released at the end
		}
		w.Write([]byte(`{"numbers":[1,2]}`))
	}))
	defer srv.Close()
	go func() { // release the held requests once the budget has passed for them all
		time.Sleep(1500 * time.Millisecond) // the lateness being measured, not a synchronisation
		close(release)
	}()
	res, err := Run(context.Background(), Load{
		URL:  srv.URL + "/numbers?u=" + url.QueryEscape("http://a/x") + "&u=" + url.QueryEscape("http://a/y?k=1"),
		Rate: 40, Duration: 200 * time.Millisecond, Distinct: true, Budget: time.Second, Universe: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 8 || res.OK+res.Refused+res.Failed != res.Requests {
		t.Fatalf("%d requests: %d ok, %d refused, %d failed", res.Requests, res.OK, res.Refused, res.Failed)
	}
	if res.Refused != 2 || res.Late != 2 || res.OnTime != res.OK-2 {
		t.Errorf("refused %d, late %d, on time %d of %d ok; want 2, 2, ok-2", res.Refused, res.Late, res.OnTime, res.OK)
	}
	if res.MeanLength != 2 || res.Completeness != 0.5 {
		t.Errorf("mean length %g, completeness %g; want 2, 0.5", res.MeanLength, res.Completeness)
	}
	if seen.Load() != 8 {
		t.Errorf("%d requests had i= on every u value; want 8", seen.Load())
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
