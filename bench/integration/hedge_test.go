package integration

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"numbers/fetcher"
	"numbers/outcome"
	"numbers/resilience"
	"numbers/source"
)

// TestHedgeOnALoopbackUpstream hedges with the real fetcher against a real
// upstream whose first request to arrive hangs: the hedge goes out on a
// second connection, the other answer wins, and the hanging request's
// connection is closed by the cancellation of its context, long before the
// deadline.
func TestHedgeOnALoopbackUpstream(t *testing.T) {
	var requests, conns atomic.Int64
	hung := make(chan struct{})
	released := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			close(hung)
			<-r.Context().Done() // the client closed the connection
			close(released)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"numbers":[3,1,2]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	reg := resilience.NewDetector(resilience.OutlierConfig{})
	for range 50 {
		reg.Success(srv.URL, time.Millisecond) // the host answers in about 1ms
	}
	link := resilience.New(resilience.Config{
		Fetcher: fetcher.New(fetcher.Config{}), Detector: reg, Budget: resilience.NewRetryBudget(resilience.RetryBudgetConfig{}),
		Hedge: true,
	})
	s := source.New(source.Config{Upstream: link, Coalesce: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan struct{}, 1)
	var nums []int64
	var o outcome.Outcome
	s.Fetch(ctx, srv.URL+"/x", func(n []int64, oc outcome.Outcome) {
		nums, o = n, oc
		got <- struct{}{}
	})
	<-got
	if o != outcome.OK || !slices.Equal(nums, []int64{1, 2, 3}) {
		t.Fatalf("got %v %v; want the hedge's numbers", nums, o)
	}
	<-hung
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("the hanging request's connection was not closed after the hedge won")
	}
	if n, c := requests.Load(), conns.Load(); n != 2 || c != 2 {
		t.Errorf("%d requests on %d connections; want 2 on 2", n, c)
	}
	// One hedge was sent. Which request hangs is decided by arrival at the
	// upstream, and on a busy machine the hedge can arrive first: then the
	// first request wins, so HedgesWon is not asserted here (the source's
	// tests assert it with a fake fetcher that knows which is which).
	if link.Stats.Hedges.Load() != 1 {
		t.Errorf("Hedges = %d; want 1", link.Stats.Hedges.Load())
	}
}
