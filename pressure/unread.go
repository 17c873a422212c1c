package pressure

import "net"

// UnreadAnswers returns how many established TCP connections on this
// machine lead to the port of addr (a listener's address; of the families
// it listens on) and hold bytes their reader has not read yet: the
// answers that the service's callers on the same machine have been sent
// and not yet read. A caller whose goroutines queue for its own CPUs reads
// late, and that lag is invisible to the service's clock and to the
// kernel's stall count, but its unread answers wait in its sockets' receive
// queues, where the kernel counts them. By Little's law the count divided by
// the rate of answers is the mean time an answer waits to be read.
//
// It asks the kernel (sock_diag, on Linux) to walk its table of
// connections, about 2 ms on a large machine: call it at most every few
// tens of milliseconds, and only when callers may lag. ok is false where
// the kernel cannot be asked; callers on other machines are not counted.
func UnreadAnswers(addr *net.TCPAddr) (n int, ok bool) {
	ip4 := addr.IP.To4() != nil
	any := addr.IP == nil || addr.IP.IsUnspecified()
	return unreadAnswers(uint16(addr.Port), ip4 || any, !ip4 || any)
}
