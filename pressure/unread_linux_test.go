package pressure

import (
	"io"
	"net"
	"testing"

	"numbers/internal/testwait"
)

// TestUnreadAnswers: of two connections to a listener, the one sent bytes
// that its reader has not read is counted, until it reads them; the
// listener's own side, with a request unread, and other ports are not.
func TestUnreadAnswers(t *testing.T) {
	for network, host := range map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"} {
		t.Run(network, func(t *testing.T) {
			ln, err := net.Listen(network, host+":0")
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err) // a machine without IPv6 has nothing to count
			}
			defer ln.Close()
			addr := ln.Addr().(*net.TCPAddr)
			dial := func() (callerSide, serviceSide net.Conn) {
				c, err := net.Dial(network, addr.String())
				if err != nil {
					t.Fatal(err)
				}
				s, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close(); s.Close() })
				return c, s
			}
			reader, answered := dial()
			asking, _ := dial()
			if n, ok := UnreadAnswers(addr); !ok || n != 0 {
				t.Fatalf("before any answer: %d, %v; want 0, true", n, ok)
			}
			answer := make([]byte, 1000)
			if _, err := answered.Write(answer); err != nil {
				t.Fatal(err)
			}
			// A request the service has not read waits in the service's
			// own socket, which is not a caller's.
			if _, err := asking.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			testwait.Eventually(t, "the answer to reach its reader's queue", func() bool {
				n, ok := UnreadAnswers(addr)
				return ok && n == 1
			})
			if _, err := io.ReadFull(reader, answer); err != nil {
				t.Fatal(err)
			}
			if n, ok := UnreadAnswers(addr); !ok || n != 0 {
				t.Fatalf("once read: %d, %v; want 0, true", n, ok)
			}
			if _, err := answered.Write(answer); err != nil {
				t.Fatal(err)
			}
			other, err := net.Listen(network, host+":0")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if n, ok := UnreadAnswers(other.Addr().(*net.TCPAddr)); !ok || n != 0 {
				t.Errorf("another port, while this one has an answer unread: %d, %v; want 0, true", n, ok)
			}
		})
	}
}
