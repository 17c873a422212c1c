package guard

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"numbers/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

var testRecords = map[string][]netip.Addr{
	"meta.test":   {netip.MustParseAddr("169.254.169.254")},
	"meta6.test":  {netip.MustParseAddr("fd00:ec2::254")},
	"mapped.test": {netip.MustParseAddr("::ffff:169.254.169.254")},
	"up.test":     {netip.MustParseAddr("127.0.0.1")},
	"mixed.test":  {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("127.0.0.1")},
	"zero.test":   {netip.MustParseAddr("0.0.0.0")},
}

// listen starts a loopback TCP listener closed at the end of the test and
// returns it with its port.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, port
}

// acceptFrom accepts ln's next connection and fails the test unless it
// comes from conn: the connection that arrived is the one dialled.
func acceptFrom(t *testing.T, ln net.Listener, conn net.Conn) {
	t.Helper()
	got, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.RemoteAddr().String() != conn.LocalAddr().String() {
		t.Fatalf("listener accepted %v, not %v", got.RemoteAddr(), conn.LocalAddr())
	}
}

// newDialer builds a Dialer whose dial attempts are recorded.
func newDialer(t *testing.T, p Policy, r *net.Resolver) (*Dialer, func() []netip.AddrPort) {
	t.Helper()
	d, err := New(p, r)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dialled []netip.AddrPort
	d.testHookDial = func(ap netip.AddrPort) {
		mu.Lock()
		dialled = append(dialled, ap)
		mu.Unlock()
	}
	return d, func() []netip.AddrPort {
		mu.Lock()
		defer mu.Unlock()
		return append([]netip.AddrPort(nil), dialled...)
	}
}

func TestDialDeniedByDefault(t *testing.T) {
	_, r := startDNS(t, testRecords, false)
	for _, addr := range []string{
		"meta.test:80", "META.test.:80", "meta6.test:80", "mapped.test:80", "zero.test:80",
		"169.254.169.254:80", "[fd00:ec2::254]:80", "[::ffff:169.254.169.254]:80",
		"[fd00:ec2::254%eth0]:80", "0.0.0.0:80", "[::]:80",
	} {
		t.Run(addr, func(t *testing.T) {
			d, dialled := newDialer(t, Policy{}, r)
			conn, err := d.DialTimeout(addr, time.Second)
			if conn != nil {
				conn.Close()
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("DialTimeout(%q) = %v, want ErrDenied", addr, err)
			}
			if got := dialled(); len(got) != 0 {
				t.Fatalf("dialled %v, want nothing", got)
			}
		})
	}
}

func TestDialAllowedName(t *testing.T) {
	_, r := startDNS(t, testRecords, false)
	ln, port := listen(t)
	for _, host := range []string{"up.test", "UP.Test.", "mixed.test"} {
		t.Run(host, func(t *testing.T) {
			d, dialled := newDialer(t, Policy{}, r)
			conn, err := d.DialTimeout(net.JoinHostPort(host, port), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			acceptFrom(t, ln, conn)
			want := netip.MustParseAddrPort("127.0.0.1:" + port)
			if got := dialled(); len(got) != 1 || got[0] != want {
				t.Fatalf("dialled %v, want only %v", got, want)
			}
		})
	}
}

// TestDialDeniedNeverConnects proves with a real listener that a denied
// address is not connected to: after the refusal, the first connection the
// listener accepts is the test's own.
func TestDialDeniedNeverConnects(t *testing.T) {
	_, r := startDNS(t, testRecords, false)
	ln, port := listen(t)
	d, err := New(Policy{DenyNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"up.test:" + port, "127.0.0.1:" + port, "[::ffff:127.0.0.1]:" + port} {
		if _, err := d.DialTimeout(addr, time.Second); !errors.Is(err, ErrDenied) {
			t.Fatalf("DialTimeout(%q) = %v, want ErrDenied", addr, err)
		}
	}
	probe, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	acceptFrom(t, ln, probe) // a denied dial that connected would come first
}

func TestDialNetRules(t *testing.T) {
	dns, r := startDNS(t, testRecords, false)
	_, port := listen(t)
	lo := netip.MustParsePrefix("127.0.0.0/8")
	ten := netip.MustParsePrefix("10.0.0.0/8")
	cases := []struct {
		name   string
		policy Policy
		addr   string
		denied bool
	}{
		{"deny CIDR on IPv4 literal", Policy{DenyNets: []netip.Prefix{lo}}, "127.0.0.1:" + port, true},
		{"deny CIDR on mapped literal", Policy{DenyNets: []netip.Prefix{lo}}, "[::ffff:127.0.0.1]:" + port, true},
		{"deny mapped CIDR on IPv4 literal", Policy{DenyNets: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}}, "127.0.0.1:" + port, true},
		{"allow-nets excludes", Policy{AllowNets: []netip.Prefix{ten}}, "127.0.0.1:" + port, true},
		{"allow-nets excludes name", Policy{AllowNets: []netip.Prefix{ten}}, "up.test:" + port, true},
		{"allow-nets includes", Policy{AllowNets: []netip.Prefix{ten, lo}}, "127.0.0.1:" + port, false},
		{"allow-nets includes name", Policy{AllowNets: []netip.Prefix{lo}}, "up.test:" + port, false},
		{"deny wins over allow-nets", Policy{AllowNets: []netip.Prefix{lo}, DenyNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "127.0.0.1:" + port, true},
		{"empty deny list allows metadata range", Policy{DenyNets: []netip.Prefix{}, AllowNets: []netip.Prefix{lo}}, "127.0.0.1:" + port, false},
		{"unspecified always denied", Policy{DenyNets: []netip.Prefix{}}, "0.0.0.0:" + port, true},
		{"deny-hosts before DNS", Policy{DenyHosts: []string{"*.test"}}, "up.test:" + port, true},
		{"allow-hosts excludes before DNS", Policy{AllowHosts: []string{"example.com"}}, "up.test:" + port, true},
		{"allow-hosts IP literal", Policy{AllowHosts: []string{"127.0.0.1"}}, "127.0.0.1:" + port, false},
		{"allow-hosts wildcard", Policy{AllowHosts: []string{"*.test"}}, "up.test:" + port, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, dialled := newDialer(t, tc.policy, r)
			conn, err := d.DialTimeout(tc.addr, time.Second)
			if tc.denied {
				if !errors.Is(err, ErrDenied) {
					t.Fatalf("got %v, want ErrDenied", err)
				}
				if got := dialled(); len(got) != 0 {
					t.Fatalf("dialled %v, want nothing", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
		})
	}
	t.Run("no DNS for literals or host-denied names", func(t *testing.T) {
		before := dns.queryCount()
		d, _ := newDialer(t, Policy{DenyHosts: []string{"up.test"}}, r)
		d.DialTimeout("169.254.169.254:80", time.Second)
		d.DialTimeout("up.test:80", time.Second)
		if got := dns.queryCount(); got != before {
			t.Fatalf("%d DNS queries, want none", got-before)
		}
	})
}

func TestDialDNSTimeout(t *testing.T) {
	dns, r := startDNS(t, nil, true)
	d, dialled := newDialer(t, Policy{}, r)
	const timeout = 200 * time.Millisecond
	start := time.Now()
	conn, err := d.DialTimeout("hang.test:80", timeout)
	elapsed := time.Since(start)
	if conn != nil {
		conn.Close()
	}
	if elapsed > 2*time.Second {
		t.Fatalf("DialTimeout took %v with timeout %v", elapsed, timeout)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want os.ErrDeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a net.Error with Timeout() true", err)
	}
	if errors.Is(err, ErrDenied) {
		t.Fatalf("got %v, a timeout is not a denial", err)
	}
	if dns.queryCount() == 0 {
		t.Fatal("the fake DNS server saw no query")
	}
	if got := dialled(); len(got) != 0 {
		t.Fatalf("dialled %v", got)
	}
}

func TestDialErrors(t *testing.T) {
	_, r := startDNS(t, testRecords, false)
	d, dialled := newDialer(t, Policy{}, r)
	for _, addr := range []string{"nohost", "up.test:0", "up.test:65536", "up.test:http", ":80", "[::1:80", "unknown.test:80"} {
		t.Run(addr, func(t *testing.T) {
			conn, err := d.DialTimeout(addr, time.Second)
			if err == nil {
				conn.Close()
				t.Fatal("no error")
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("got timeout %v", err)
			}
		})
	}
	if got := dialled(); len(got) != 0 {
		t.Fatalf("dialled %v", got)
	}
}

func TestDialRefusedIsNotDenied(t *testing.T) {
	ln, port := listen(t)
	ln.Close() // nothing listens on port now
	d, _ := newDialer(t, Policy{}, nil)
	_, err := d.DialTimeout("127.0.0.1:"+port, time.Second)
	if err == nil || errors.Is(err, ErrDenied) {
		t.Fatalf("got %v, want a connection error", err)
	}
}

func TestDialZeroTimeoutUsesDefault(t *testing.T) {
	ln, port := listen(t)
	d, _ := newDialer(t, Policy{}, nil)
	conn, err := d.DialTimeout(net.JoinHostPort("127.0.0.1", port), 0)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if c, err := ln.Accept(); err == nil {
		c.Close()
	}
}
