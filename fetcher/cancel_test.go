package fetcher

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"numbers/internal/testupstream"
)

// TestFetchCancel cancels a fetch whose context has a minute left, once the
// upstream holds the request, and checks that Fetch returns at once with a
// timeout that wraps context.Canceled, and that the connection it used is
// not reused: the next fetch opens a new one.
func TestFetchCancel(t *testing.T) {
	cases := []struct {
		name  string
		serve func(w http.ResponseWriter, hang <-chan struct{})
	}{
		{"headers never come", func(w http.ResponseWriter, hang <-chan struct{}) { <-hang }},
		{"body never ends", func(w http.ResponseWriter, hang <-chan struct{}) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"numbers":[1,`))
			w.(http.Flusher).Flush()
			<-hang
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			held := make(chan struct{}, 1)
			var mu sync.Mutex
			peers := map[string]bool{} // the client's connections, by address
			srv := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
				mu.Lock()
				peers[r.RemoteAddr] = true
				mu.Unlock()
				if r.URL.Path == "/ok" {
					_, _ = w.Write([]byte(`{"numbers":[7]}`))
					return
				}
				held <- struct{}{}
				tc.serve(w, hang)
			})
			c := newClient(t, Config{})

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := c.Fetch(ctx, srv.URL+"/hold")
				done <- err
			}()
			<-held
			cancel()
			select {
			case err := <-done:
				wantKind(t, err, ErrTimeout)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v does not wrap context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Fetch still running 10s after its context was cancelled (deadline 1m)")
			}

			resp, err := fetchWithin(t, c, srv.URL+"/ok", 5*time.Second)
			if err != nil || len(resp.Numbers) != 1 {
				t.Fatalf("fetch after the cancelled one: %v %v", resp.Numbers, err)
			}
			mu.Lock()
			n := len(peers)
			mu.Unlock()
			if n != 2 {
				t.Errorf("upstream saw %d connections, want 2: a cancelled connection must not be reused", n)
			}
		})
	}
}
