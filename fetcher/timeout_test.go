package fetcher

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"numbers/internal/testupstream"
	"numbers/outcome"
)

// hangingListener accepts connections and neither reads nor writes until
// cleanup, when it closes them all.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

func TestFetchTimeouts(t *testing.T) {
	const deadline = 200 * time.Millisecond
	cases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"body trickles a byte every 10ms", func(t *testing.T) string {
			return testupstream.Start(t, testupstream.Trickling).URL
		}},
		{"headers never come", func(t *testing.T) string {
			srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) { <-hang })
			return srv.URL
		}},
		{"headers then no body", func(t *testing.T) string {
			srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
				w.Header().Set("Content-Length", "20")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-hang
			})
			return srv.URL
		}},
		{"listener accepts and never reads", hangingListener},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			c := newClient(t, Config{})
			start := time.Now()
			_, err := fetchWithin(t, c, url, deadline)
			wantKind(t, err, ErrTimeout)
			if OutcomeOf(err) != outcome.Timeout {
				t.Errorf("OutcomeOf = %v, want timeout", OutcomeOf(err))
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v with a deadline of %v", took, deadline)
			}
		})
	}
}

func TestFetchContextWithoutTime(t *testing.T) {
	var hits atomic.Int64
	srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"numbers":[1]}`))
	})
	expired, cancel1 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel1()
	cancelled, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	cancel2()
	cases := []struct {
		name string
		ctx  context.Context
	}{
		{"no deadline", context.Background()},
		{"deadline passed", expired},
		{"cancelled", cancelled},
	}
	c := newClient(t, Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := c.Fetch(tc.ctx, srv.URL)
			wantKind(t, err, ErrTimeout)
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %v, want at once", took)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests, want none", n)
	}
}
