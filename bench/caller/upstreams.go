package caller

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"numbers/bench/simulator"
)

// Classic are the paths of the classic upstreams: each its fixed list under
// the key "Numbers", after a uniform 0-550 ms delay, and a 503 one time in
// ten.
var Classic = []string{"/primes", "/fibo", "/odd", "/rand"}

// BigPaths are four instant upstreams of BigSize numbers each, distinct from
// one another: the CPU-bound workload.
var BigPaths = []string{"/big/0", "/big/1", "/big/2", "/big/3"}

// BigSize is the length of each BigPaths list.
const BigSize = 20000

// Upstreams serves Classic and BigPaths on Go's net/http server, in the
// caller's process. Create it with StartUpstreams; stop it with Close.
type Upstreams struct {
	// URL is the base URL, such as "http://127.0.0.1:40123".
	URL string
	// ClassicUniverse is how many distinct numbers the classic lists hold
	// together; BigUniverse, the big ones.
	ClassicUniverse, BigUniverse int

	srv    *http.Server
	served chan error
}

// StartUpstreams serves the upstreams on a free loopback port.
func StartUpstreams() (*Upstreams, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	var union []int64
	for _, path := range Classic {
		list, _ := simulator.ClassicList(path)
		union = append(union, list...)
		mux.Handle("GET "+path, classic(body(list)))
	}
	for i, path := range BigPaths {
		list := make([]int64, BigSize)
		for j := range list {
			list[j] = int64(j*len(BigPaths) + i) // disjoint across the four
		}
		b := body(list)
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(b) //nolint:errcheck // the caller's side counts failures
		})
	}
	slices.Sort(union)
	u := &Upstreams{
		URL:             "http://" + ln.Addr().String(),
		ClassicUniverse: len(slices.Compact(union)),
		BigUniverse:     BigSize * len(BigPaths),
		srv:             &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		served:          make(chan error, 1),
	}
	go func() { u.served <- u.srv.Serve(ln) }()
	return u, nil
}

// Close stops serving and waits for the server to return.
func (u *Upstreams) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	u.srv.Shutdown(ctx) //nolint:errcheck // Serve's error says the rest
	if err := <-u.served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// classic answers with b after a uniform 0-550 ms delay, or 503 one time in
// ten; a request whose caller went away ends at once.
func classic(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(rand.N(550 * time.Millisecond))
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		if rand.N(10) == 0 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b) //nolint:errcheck // the caller's side counts failures
	}
}

// body renders {"Numbers":[...]}.
func body(list []int64) []byte {
	b := []byte(`{"Numbers":[`)
	for i, n := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, "]}"...)
}
