//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64)

package admission

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

const kernelArrival = true

// conn is a TCP connection accepted by Listen on Linux.
//
// SinceReceived reads tcpi_last_data_recv from getsockopt(TCP_INFO): the
// milliseconds since the last data segment arrived on the socket, counted in
// the kernel's jiffies (1 to 10 ms, HZ dependent; 4 ms on a kernel with
// HZ=250). For an HTTP/1.1 connection whose client waits for each answer
// before it sends the next request, that is the time since the request being
// served finished arriving; a client that pipelines can only make it
// shorter, never longer. Pure ACKs do not move it.
type conn struct {
	*net.TCPConn
	raw   syscall.RawConn
	read  func(fd uintptr) // c.readInfo, bound once so that a call allocates nothing
	info  syscall.TCPInfo
	errno syscall.Errno
}

// newConn returns tc as a SinceReceiver, or nil if its socket is out of reach.
func newConn(tc *net.TCPConn) net.Conn {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	c := &conn{TCPConn: tc, raw: raw}
	c.read = c.readInfo
	return c
}

// SinceReceived implements SinceReceiver: one getsockopt system call. It is
// for the goroutine serving the connection, and not safe for concurrent use.
func (c *conn) SinceReceived() (time.Duration, bool) {
	if c.raw.Control(c.read) != nil || c.errno != 0 {
		return 0, false
	}
	return time.Duration(c.info.Last_data_recv) * time.Millisecond, true
}

// readInfo reads the socket's TCP_INFO into c.info. getsockopt does not
// block, so the raw system call, which skips the scheduler's bookkeeping, is
// fine.
func (c *conn) readInfo(fd uintptr) {
	size := uint32(syscall.SizeofTCPInfo)
	_, _, c.errno = syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&c.info)), uintptr(unsafe.Pointer(&size)), 0)
}
