package simulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"numbers/internal/testwait"
)

// rawGet sends a GET on a fresh TCP connection and returns it with a reader.
func rawGet(t *testing.T, url, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

func TestConnectionModes(t *testing.T) {
	_, url := start(t, Config{Seed: 5})
	t.Run("reset", func(t *testing.T) {
		conn, br := rawGet(t, url, "/numbers?mode=reset")
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read: %v, want connection reset", err)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		resp, err := client(t).Get(url + "/numbers?mode=truncate")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("read: %v, want unexpected EOF", err)
		}
	})
	t.Run("trickle", func(t *testing.T) {
		want := get(t, client(t), url+"/numbers?n=3&seed=1").body
		conn, br := rawGet(t, url, "/numbers?n=3&seed=1&mode=trickle&every=2ms")
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Headers come first, alone: the body is not buffered yet.
		if br.Buffered() > 1 {
			t.Errorf("%d body bytes arrived with the headers", br.Buffered())
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != want {
			t.Errorf("body %q %v, want %q", b, err, want)
		}
	})
	t.Run("huge", func(t *testing.T) {
		resp, err := client(t).Get(url + "/numbers?mode=huge&size=3MiB&key=Numbers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || len(b) != 3<<20 || resp.ContentLength != 3<<20 || !json.Valid(b) || !strings.HasPrefix(string(b), `{"Numbers":[`) {
			t.Errorf("got %d bytes (CL %d, %v), valid %v", len(b), resp.ContentLength, err, json.Valid(b))
		}
	})
	t.Run("stall, then the numbers", func(t *testing.T) {
		begin := time.Now()
		resp, err := http.Get(url + "/numbers?n=3&seed=1&mode=stall&stall=30ms")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if d := time.Since(begin); resp.StatusCode != 200 || d < 30*time.Millisecond || !json.Valid(b) {
			t.Errorf("got %d %s after %v; want 200 with numbers after 30ms", resp.StatusCode, b, d)
		}
	})
	t.Run("hang until the client leaves", func(t *testing.T) {
		conn, br := rawGet(t, url, "/numbers?mode=hang")
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var ne net.Error
		if _, err := br.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read: %v, want a timeout (no answer)", err)
		}
		conn.Close() // the server's hijack handler returns; goleak checks at the end
	})
}

// TestShutdownEndsWaits checks that Shutdown ends hangs, trickles and delays promptly.
func TestShutdownEndsWaits(t *testing.T) {
	s, url, err := Start(Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/numbers?mode=hang", "/numbers?mode=trickle&every=1h", "/numbers?delay=1h", "/numbers?n=1"}
	var conns []*bufio.Reader
	for _, p := range paths {
		_, br := rawGet(t, url, p)
		conns = append(conns, br)
	}
	testwait.Eventually(t, "the requests to reach the handler", func() bool { return s.routes["/numbers"].count.Load() >= uint64(len(paths)) })
	begin := time.Now()
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for i, br := range conns {
		if _, err := io.ReadAll(br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v", paths[i], err)
		}
	}
	if el := time.Since(begin); el > 5*time.Second {
		t.Errorf("shutdown took %v", el)
	}
	if err := s.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestEndpoints(t *testing.T) {
	eps, err := ParseEndpoints([]byte(`{"/slow": "dist=lognormal&p50=100ms&p99=900ms", "/three": "?n=3&order=asc&key=vals"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, url := start(t, Config{Endpoints: eps})
	c := client(t)
	if l := decode(t, get(t, c, url+"/three").body, "vals"); len(l) != 3 {
		t.Errorf("got %v", l)
	}
	if l := decode(t, get(t, c, url+"/three?n=5").body, "vals"); len(l) != 5 {
		t.Errorf("override: got %v", l)
	}
	if r := get(t, c, url+"/slow?delay=0&n=1"); r.status != 200 {
		t.Errorf("got %d", r.status)
	}
	for _, bad := range []string{`[]`, `{"nope": "n=1"}`, `{"/stats": ""}`, `{"/x": "n=x"}`, `{"/x": 1}`} {
		if _, err := ParseEndpoints([]byte(bad)); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", bad, err)
		}
	}
	if _, err := ParseEndpoints([]byte(`{"/x": "n=x"}`)); !errors.Is(err, ErrBadParam) {
		t.Errorf("want ErrBadParam too, got %v", err)
	}
}

// TestSetDown: while down every route request hangs, /stats still answers;
// back up, the same request is answered.
func TestSetDown(t *testing.T) {
	s, url := start(t, Config{Seed: 5})
	s.SetDown(true)
	conn, br := rawGet(t, url, "/numbers?n=1")
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var ne net.Error
	if _, err := br.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read while down: %v, want a timeout (no answer)", err)
	}
	conn.Close()
	if resp, err := http.Get(url + "/stats"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/stats while down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s.SetDown(false)
	resp, err := http.Get(url + "/numbers?n=1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("back up: %v %v", resp, err)
	}
	resp.Body.Close()
}
