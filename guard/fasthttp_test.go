package guard

import (
	"errors"
	"net"
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

func TestFasthttpClient(t *testing.T) {
	port := startUpstream(t)
	_, r := startDNS(t, testRecords, false)
	d, err := New(Policy{}, r)
	if err != nil {
		t.Fatal(err)
	}
	c := &fasthttp.Client{DialTimeout: d.DialTimeout, MaxIdleConnDuration: 50 * time.Millisecond}
	t.Cleanup(c.CloseIdleConnections)

	t.Run("allowed name", func(t *testing.T) {
		status, err := get(c, "http://up.test:"+port+"/", time.Now().Add(time.Second))
		if err != nil || status != 200 {
			t.Fatalf("got %d, %v; want 200", status, err)
		}
	})
	t.Run("name resolving to metadata", func(t *testing.T) {
		_, err := get(c, "http://meta.test:"+port+"/", time.Now().Add(time.Second))
		if !errors.Is(err, ErrDenied) {
			t.Fatalf("got %v, want ErrDenied", err)
		}
	})
	t.Run("metadata literal", func(t *testing.T) {
		_, err := get(c, "http://169.254.169.254/latest/meta-data/", time.Now().Add(time.Second))
		if !errors.Is(err, ErrDenied) {
			t.Fatalf("got %v, want ErrDenied", err)
		}
	})
}

// TestFasthttpDeadlineBoundsDNS proves that the request's deadline, passed by
// fasthttp to DialTimeout, bounds a DNS lookup that never answers.
func TestFasthttpDeadlineBoundsDNS(t *testing.T) {
	_, r := startDNS(t, nil, true)
	d, err := New(Policy{}, r)
	if err != nil {
		t.Fatal(err)
	}
	c := &fasthttp.Client{DialTimeout: d.DialTimeout, MaxIdleConnDuration: 50 * time.Millisecond}
	t.Cleanup(c.CloseIdleConnections)

	const budget = 200 * time.Millisecond
	start := time.Now()
	_, err = get(c, "http://hang.test:8080/", start.Add(budget))
	elapsed := time.Since(start)
	if elapsed > 2*time.Second {
		t.Fatalf("DoDeadline took %v with a %v deadline", elapsed, budget)
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout error", err)
	}
}
