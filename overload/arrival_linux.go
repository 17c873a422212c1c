//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64)

package overload

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

const kernelArrival = true

// stampReceives turns on receive timestamps (SO_TIMESTAMPNS) on a TCP
// listener; the connections it accepts inherit them. It reports whether it
// could.
func stampReceives(ln net.Listener) bool {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return false
	}
	raw, err := tl.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// conn is a TCP connection accepted by Listen on Linux. Its Read is a
// recvmsg system call that also returns, as a control message, when the
// kernel received the last segment it read, to the nanosecond; SinceReceived
// is the time since then.
//
// It replaced tcpi_last_data_recv (getsockopt TCP_INFO), which the kernel
// counts in jiffies: 4 ms on a kernel with HZ=250, so that a request read
// late could have waited up to 4 ms longer than the service counted, and
// one read within the tick of its arrival was not seen to wait at all.
// Those are the requests that arrive while the process is stalled (a
// garbage collection on a busy machine), the ones closest to the budget.
// The kernel turns stamping on in the background when the first socket
// asks for it, so the bytes of the first moments after the start may come
// unstamped: their arrival is then unknown, and the read time stands.
type conn struct {
	*net.TCPConn
	raw    syscall.RawConn
	recv   func(fd uintptr) bool // c.recvmsg, bound once so that a Read allocates nothing
	wanted func() bool           // whether to read the stamps now

	// The state of one Read, for recv.
	p   []byte
	n   int
	err error
	oob [64]byte

	received int64 // the last read segment's arrival, in Unix nanoseconds; 0 if not known
}

// newConn returns tc as a SinceReceiver, or nil if its socket is out of reach.
func newConn(tc *net.TCPConn, wanted func() bool) net.Conn {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	c := &conn{TCPConn: tc, raw: raw, wanted: wanted}
	c.recv = c.recvmsg
	return c
}

// Read implements net.Conn. It is for one goroutine at a time, as
// fasthttp's serving goroutine reads.
func (c *conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if !c.wanted() {
		c.received = 0
		return c.TCPConn.Read(b)
	}
	c.p = b
	err := c.raw.Read(c.recv) // waits in the poller while nothing is ready, deadlines included
	c.p = nil
	switch {
	case err != nil:
		return 0, err
	case c.err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("recvmsg", c.err)}
	case c.n == 0:
		return 0, io.EOF
	}
	return c.n, nil
}

// recvmsg reads into c.p with its control messages; false asks the poller
// to wait until the socket is readable.
func (c *conn) recvmsg(fd uintptr) bool {
	for {
		n, oobn, _, _, err := syscall.Recvmsg(int(fd), c.p, c.oob[:], 0)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case nil:
			// A read without a stamp (bytes that arrived before any socket
			// asked the kernel for stamps) makes the arrival unknown, not
			// that of the bytes read before.
			c.n, c.err, c.received = n, nil, receivedAt(c.oob[:oobn])
		default:
			c.n, c.err = 0, err
		}
		return true
	}
}

// receivedAt returns the SCM_TIMESTAMPNS time in oob, in Unix nanoseconds,
// or 0 if oob holds none. It parses in place: the standard library's
// ParseSocketControlMessage allocates.
func receivedAt(oob []byte) int64 {
	hdr := syscall.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if int(h.Len) < hdr || int(h.Len) > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && int(h.Len) >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&oob[hdr])).Nano()
		}
		oob = oob[min(syscall.CmsgSpace(int(h.Len)-hdr), len(oob)):]
	}
	return 0
}

// SinceReceived implements SinceReceiver: the time since the kernel
// received the last segment Read returned. A client that pipelines can only
// make it shorter, never longer. It is for the goroutine that reads.
func (c *conn) SinceReceived() (time.Duration, bool) {
	if c.received == 0 {
		return 0, false
	}
	return time.Since(time.Unix(0, c.received)), true
}
