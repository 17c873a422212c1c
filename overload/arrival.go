package overload

import (
	"net"
	"time"
)

// Listen returns ln, whose accepted TCP connections also tell how long ago
// the host received the data last read from them (SinceReceiver), on Linux,
// while wanted returns true: there the arrival of a request is known from
// the kernel, not only from the moment the server read it, so that the time
// it waited unread in a socket buffer (when the process is too busy to
// read) counts against its budget and in its sojourn. Reading the stamp
// takes a recvmsg instead of a read and a parse of its control message, a
// tenth of a cached answer's work: while wanted returns false (a machine
// with CPU to spare, where nothing waits unread), reads are plain and the
// arrival is not known. Elsewhere, and for listeners that are not TCP, ln is
// returned as it is.
func Listen(ln net.Listener, wanted func() bool) net.Listener {
	if !kernelArrival || !stampReceives(ln) {
		return ln
	}
	return listener{ln, wanted}
}

type listener struct {
	net.Listener
	wanted func() bool
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if kc := newConn(tc, l.wanted); kc != nil {
			return kc, nil
		}
	}
	return c, nil
}

// SinceReceiver is what a connection accepted by Listen offers: how long ago
// the host last received data on it. ok is false when that is not known.
type SinceReceiver interface {
	SinceReceived() (d time.Duration, ok bool)
}
