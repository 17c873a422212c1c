package admission

import (
	"net"
	"time"
)

// Listen returns ln, whose accepted TCP connections also tell how long ago
// the host last received data on them (SinceReceiver), on Linux: there the
// arrival of a request is known from the kernel, not only from the moment
// the server read it, so that the time it waited unread in a socket buffer
// (when the process is too busy to read) counts against its budget and in
// its sojourn. They also say when a write returns (WriteWatcher), so that
// the time an answer waited to be written after the handler returned is
// seen too. Elsewhere, and for connections that are not TCP, the accepted
// connections are returned as they are.
func Listen(ln net.Listener) net.Listener {
	if !kernelArrival {
		return ln
	}
	return listener{ln}
}

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if kc := newConn(tc); kc != nil {
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

// WriteWatcher is what a connection accepted by Listen also offers: f is
// called once, with the time, when the next write to the connection returns
// (whether or not it failed). The server writes an answer after its handler
// returned, so this is when the answer left the process. Like the
// connection's reads and writes, it is for the goroutine serving the
// connection and not safe for concurrent use.
type WriteWatcher interface {
	AfterNextWrite(f func(written time.Time))
}
