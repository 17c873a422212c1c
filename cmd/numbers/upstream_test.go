package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// upstream starts a loopback net/http server with h and returns its URL. A
// handler that blocks must also select on hang, which is closed at cleanup
// before the server is closed.
func upstream(t *testing.T, h func(w http.ResponseWriter, r *http.Request, hang <-chan struct{})) string {
	t.Helper()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, hang) }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // runs first
	return srv.URL
}

// numbersBody answers a fixed JSON body.
func numbersBody(body string) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
}

// hanging never answers until the caller leaves or the test ends; entered,
// when not nil, is told that a request arrived.
func hanging(entered chan<- struct{}) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
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

// trickling sends a valid start of body, then one byte every 10ms, at most
// 1000 bytes, until the caller leaves.
func trickling(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
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

// huge streams a 50 MB body of valid numbers without a Content-Length.
func huge(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
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

// redirectLoop redirects to itself forever.
func redirectLoop(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
	http.Redirect(w, r, r.URL.Path, http.StatusFound)
}

// lyingLength claims a longer body than it sends, then closes.
func lyingLength(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"numbers\":[42]}")
	buf.Flush() //nolint:errcheck // the test checks what the service made of it
}

// status500 fails.
func status500(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
	http.Error(w, `{"numbers":[666]}`, http.StatusInternalServerError)
}

// refusedURL returns the URL of a loopback port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// resettingURL returns the URL of a loopback server that resets every
// connection as soon as it is accepted.
func resettingURL(t *testing.T) string {
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
