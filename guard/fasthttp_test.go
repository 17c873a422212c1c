package guard

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startUpstream serves {"numbers":[1]} on a loopback listener until the test
// ends, and returns its port.
func startUpstream(t *testing.T) string {
	t.Helper()
	ln, port := listen(t)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"numbers":[1]}`)
		},
		// The worker pool's cleaner sleeps this long between rounds, even
		// after Shutdown: keep it short so that goleak sees it exit.
		MaxIdleWorkerDuration: 10 * time.Millisecond,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return port
}

// get does a GET with a deadline through a fasthttp.Client using d.
func get(c *fasthttp.Client, url string, deadline time.Time) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	err := c.DoDeadline(req, resp, deadline)
	return resp.StatusCode(), err
}

// guardedClient returns a fasthttp.Client dialling through a default
// Dialer whose resolver is startDNS(t, records, hang).
func guardedClient(t *testing.T, records map[string][]netip.Addr, hang bool) *fasthttp.Client {
	t.Helper()
	_, r := startDNS(t, records, hang)
	d, err := New(Policy{}, r)
	if err != nil {
		t.Fatal(err)
	}
	c := &fasthttp.Client{DialTimeout: d.DialTimeout, MaxIdleConnDuration: 50 * time.Millisecond}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestFasthttpClient(t *testing.T) {
	port := startUpstream(t)
	c := guardedClient(t, testRecords, false)

	for _, tc := range []struct {
		name, url string
		denied    bool
	}{
		{"allowed name", "http://up.test:" + port + "/", false},
		{"name resolving to metadata", "http://meta.test:" + port + "/", true},
		{"metadata literal", "http://169.254.169.254/latest/meta-data/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, err := get(c, tc.url, time.Now().Add(time.Second))
			switch {
			case tc.denied && !errors.Is(err, ErrDenied):
				t.Fatalf("got %d, %v; want ErrDenied", status, err)
			case !tc.denied && (err != nil || status != 200):
				t.Fatalf("got %d, %v; want 200", status, err)
			}
		})
	}
}

// TestFasthttpDeadlineBoundsDNS proves that the request's deadline, passed by
// fasthttp to DialTimeout, bounds a DNS lookup that never answers.
func TestFasthttpDeadlineBoundsDNS(t *testing.T) {
	c := guardedClient(t, nil, true)

	const budget = 200 * time.Millisecond
	start := time.Now()
	_, err := get(c, "http://hang.test:8080/", start.Add(budget))
	elapsed := time.Since(start)
	if elapsed > 2*time.Second {
		t.Fatalf("DoDeadline took %v with a %v deadline", elapsed, budget)
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout error", err)
	}
}
