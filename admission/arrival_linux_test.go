//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64)

package admission

import (
	"io"
	"net"
	"testing"
	"time"
)

// jiffy is the most the kernel's count may be off by: one tick, at most 10ms
// (HZ=100).
const jiffy = 10 * time.Millisecond

// TestSinceReceived: over loopback TCP, the time since the last data arrived,
// as the kernel counts it, brackets the time the test measures itself: from
// when the server had read the bytes (they had arrived) to the query, and
// from before the client wrote them to the query, give or take a tick.
func TestSinceReceived(t *testing.T) {
	client, server := connect(t, "tcp", "127.0.0.1:0")
	sr, ok := server.(SinceReceiver)
	if !ok {
		t.Fatalf("accepted %T, not a SinceReceiver", server)
	}

	for _, wait := range []time.Duration{0, 50 * time.Millisecond} {
		written := time.Now()
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 18)
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		read := time.Now()
		time.Sleep(wait) // the age being measured, not a synchronisation
		d, ok := sr.SinceReceived()
		queried := time.Now()
		if !ok {
			t.Fatal("SinceReceived not known")
		}
		if lo, hi := queried.Sub(read)-jiffy, queried.Sub(written)+jiffy; d < lo || d > hi {
			t.Errorf("after %v: SinceReceived = %v; want from %v to %v", wait, d, lo, hi)
		}
	}
}

// TestListenOtherConns: connections that are not TCP are accepted as they are.
func TestListenOtherConns(t *testing.T) {
	_, server := connect(t, "unix", t.TempDir()+"/s")
	if _, ok := server.(*net.UnixConn); !ok {
		t.Fatalf("accepted %T; want the *net.UnixConn as it is", server)
	}
}

// connect listens on address through Listen, dials it and returns both ends
// of the connection, closed at cleanup.
func connect(t *testing.T, network, address string) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	ln = Listen(ln)
	defer ln.Close()
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}
