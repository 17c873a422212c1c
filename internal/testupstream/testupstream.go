// Package testupstream is the tests' upstreams: loopback net/http servers
// that answer as a test says (numbers, a status, a hang, a trickle, a body
// that lies), stopped at the test's end, and addresses that refuse or reset
// every connection. Every package's tests use it rather than writing its
// own.
package testupstream

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Handler answers one request; hang is closed when the test ends, before
// the server stops, so that a handler that blocks must also select on it.
type Handler func(w http.ResponseWriter, r *http.Request, hang <-chan struct{})

// Start starts a loopback server answering with h. At cleanup, hang is
// closed, the client connections are closed and the server stops.
func Start(t testing.TB, h Handler) *httptest.Server {
	t.Helper()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, hang) }))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections)
	t.Cleanup(func() { close(hang) }) // runs first
	return srv
}

// Reply answers with status, the headers kv (name, value, ...) and body.
func Reply(status int, body string, kv ...string) Handler {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// JSON answers 200 with body as application/json.
func JSON(body string) Handler { return Reply(http.StatusOK, body, "Content-Type", "application/json") }

// Hanging never answers until the caller leaves or the test ends; entered,
// when not nil, is told that a request arrived.
func Hanging(entered chan<- struct{}) Handler {
	return func(_ http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
		if entered != nil {
			entered <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}
}

// Trickling sends a valid start of body, then one byte every 10ms, at most
// 1000 bytes, until the caller leaves.
func Trickling(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"numbers":[1`)
	w.(http.Flusher).Flush()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range 1000 {
		select {
		case <-r.Context().Done():
			return
		case <-hang:
			return
		case <-tick.C:
		}
		if _, err := w.Write([]byte("1")); err != nil {
			return
		}
		w.(http.Flusher).Flush()
	}
}

// Huge streams a 50 MB body of valid numbers without a Content-Length.
func Huge(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
	w.Header().Set("Content-Type", "application/json")
	chunk := []byte(strings.Repeat("12345678,", 1<<17)) // about 1 MB
	if _, err := w.Write([]byte(`{"numbers":[`)); err != nil {
		return
	}
	for written := 0; written < 50<<20; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
			return
		}
	}
	w.Write([]byte("1]}")) //nolint:errcheck // the caller is gone
}

// RedirectLoop redirects to itself forever.
func RedirectLoop(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
	http.Redirect(w, r, r.URL.Path, http.StatusFound)
}

// Raw answers with reply as it is, status line and headers included, then
// closes the connection: for answers net/http would never send.
func Raw(reply string) Handler {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte(reply)) // the test checks what the client made of it
	}
}

// LyingLength claims a longer body than it sends, then closes.
var LyingLength = Raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"numbers\":[42]}")

// RefusedURL returns the URL of a loopback port nobody listens on.
func RefusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// ResettingURL returns the URL of a loopback server that resets every
// connection as soon as it is accepted.
func ResettingURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0) //nolint:errcheck // best effort: RST on close
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String() + "/"
}
