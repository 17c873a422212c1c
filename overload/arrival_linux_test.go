//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64)

package overload

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// clockSlack covers the difference between the kernel's stamp (the
// realtime clock) and the test's readings (monotonic).
const clockSlack = time.Millisecond

// TestSinceReceived: over loopback TCP, the time since the kernel received
// the bytes read last is bracketed by what the test measures itself: at
// least from when the server had read them (they had arrived) to the query,
// at most from before the client wrote them to after the query. With
// TCP_INFO, counted in jiffies, the bracket had to be a tick (4-10 ms)
// wider on each side.
func TestSinceReceived(t *testing.T) {
	client, server := connect(t, "tcp", "127.0.0.1:0", always)
	sr, ok := server.(SinceReceiver)
	if !ok {
		t.Fatalf("accepted %T, not a SinceReceiver", server)
	}
	if _, ok := sr.SinceReceived(); ok {
		t.Fatal("SinceReceived known before anything was read")
	}
	// The kernel turns timestamping on in the background once a first
	// socket asks for it: bytes that arrive before are not stamped, and
	// their arrival is unknown. Wait (bounded) for a stamped read.
	buf := make([]byte, 18)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		if _, ok := sr.SinceReceived(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no read stamped by the kernel in 5 s")
		}
	}

	for _, wait := range []time.Duration{0, 20 * time.Millisecond} {
		written := time.Now()
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		read := time.Now()
		time.Sleep(wait) // the age being measured, not a synchronisation
		asked := time.Now()
		d, ok := sr.SinceReceived()
		answered := time.Now()
		if !ok {
			t.Fatal("SinceReceived not known")
		}
		if lo, hi := asked.Sub(read)-clockSlack, answered.Sub(written)+clockSlack; d < lo || d > hi {
			t.Errorf("after %v: SinceReceived = %v; want from %v to %v", wait, d, lo, hi)
		}
	}
}

func always() bool { return true }

// TestStampsOnlyWhenWanted: while the listener's wanted says no, reads are
// plain and the arrival unknown; once it says yes, reads are stamped again.
func TestStampsOnlyWhenWanted(t *testing.T) {
	var want atomic.Bool
	client, server := connect(t, "tcp", "127.0.0.1:0", want.Load)
	sr := server.(SinceReceiver)
	buf := make([]byte, 18)
	exchange := func() {
		t.Helper()
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
	}
	exchange()
	if _, ok := sr.SinceReceived(); ok {
		t.Fatal("SinceReceived known after a read that was not to be stamped")
	}
	want.Store(true)
	// As in TestSinceReceived, the kernel may stamp only after a while.
	for deadline := time.Now().Add(5 * time.Second); ; {
		exchange()
		if _, ok := sr.SinceReceived(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no read stamped by the kernel in 5 s once wanted")
		}
	}
	want.Store(false)
	exchange()
	if _, ok := sr.SinceReceived(); ok {
		t.Fatal("SinceReceived still known after an unstamped read")
	}
}

// TestConnRead: the accepted connection reads as a net.Conn should: the
// bytes written, a timeout at a passed deadline (fasthttp relies on both),
// io.EOF once the peer has closed.
func TestConnRead(t *testing.T) {
	client, server := connect(t, "tcp", "127.0.0.1:0", always)
	if err := server.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v; want a timeout", err)
	}
	if err := server.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("numbers")); err != nil {
		t.Fatal(err)
	}
	client.Close()
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "numbers" {
		t.Fatalf("read %q, %v; want \"numbers\", then EOF", got, err)
	}
	if n, err := server.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d, %v; want 0, EOF", n, err)
	}
}

// TestReceivedAt: the timestamp is found in a control message buffer as
// the kernel lays it out, and anything else is no timestamp.
func TestReceivedAt(t *testing.T) {
	hdr, size := syscall.CmsgLen(0), int(unsafe.Sizeof(syscall.Timespec{}))
	message := func(level, typ int32, sec, nsec int64) []byte {
		b := make([]byte, syscall.CmsgSpace(size))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(syscall.CmsgLen(size))
		*(*syscall.Timespec)(unsafe.Pointer(&b[hdr])) = syscall.NsecToTimespec(sec*1e9 + nsec)
		return b
	}
	stamp := message(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1_700_000_000, 123)
	other := message(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, 5, 5)
	truncated := message(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1, 1)
	(*syscall.Cmsghdr)(unsafe.Pointer(&truncated[0])).SetLen(hdr + 4)
	tests := []struct {
		name string
		oob  []byte
		want int64
	}{
		{"none", nil, 0},
		{"shorter than a header", stamp[:hdr-1], 0},
		{"the timestamp", stamp, 1_700_000_000*1e9 + 123},
		{"after another message", append(other, stamp...), 1_700_000_000*1e9 + 123},
		{"another message only", other, 0},
		{"a length past the buffer", stamp[:hdr+4], 0},
		{"a timestamp message too short for one", truncated, 0},
	}
	for _, tt := range tests {
		if got := receivedAt(tt.oob); got != tt.want {
			t.Errorf("%s: receivedAt = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestListenOtherConns: connections that are not TCP are accepted as they are.
func TestListenOtherConns(t *testing.T) {
	_, server := connect(t, "unix", t.TempDir()+"/s", always)
	if _, ok := server.(*net.UnixConn); !ok {
		t.Fatalf("accepted %T; want the *net.UnixConn as it is", server)
	}
}

// connect listens on address through Listen, dials it and returns both ends
// of the connection, closed at cleanup.
func connect(t *testing.T, network, address string, wanted func() bool) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	ln = Listen(ln, wanted)
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
