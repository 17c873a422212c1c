// This file holds DialTimeout: resolve, filter by policy, dial within the deadline.

package guard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// DialTimeout dials the TCP address addr ("host:port", host a name or an IP
// literal, bracketed if IPv6) within timeout, refusing what the policy
// forbids. It has the type fasthttp.DialFuncWithTimeout: set it as
// fasthttp.Client.DialTimeout, and fasthttp passes the time left before the
// request's deadline. A timeout of zero or less means DefaultTimeout.
//
// It checks the host with AllowHost, resolves a name (IP literals are used as
// they are) with a context bounded by timeout, drops the addresses the network
// rules forbid (IPv4-mapped IPv6 addresses are checked as IPv4, zones are
// ignored), and dials the remaining ones in the resolver's order until one
// connects, sharing out the time left as net.Dialer does. Just before each
// connect, net.Dialer.Control checks the socket's address once more.
//
// Errors: a refused host or address wraps ErrDenied (if every resolved address
// is denied, nothing is dialled). A DNS lookup or connect that ran out of time
// returns an error that is a net.Error whose Timeout() is true and that wraps
// os.ErrDeadlineExceeded. Other failures are wrapped with the "guard:" prefix.
func (d *Dialer) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("guard: bad address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("guard: bad port in address %q", addr)
	}
	if err := d.AllowHost(host); err != nil {
		return nil, err
	}
	ips, err := d.resolve(host, deadline)
	if err != nil {
		return nil, err
	}

	allowed := make([]netip.Addr, 0, len(ips))
	var denied error
	for _, ip := range ips {
		ip = ip.Unmap()
		if why := d.checkAddr(ip); why != "" {
			if denied == nil {
				denied = fmt.Errorf("%w: host %q resolved to %s, which %s", ErrDenied, host, ip.WithZone(""), why)
			}
			continue
		}
		allowed = append(allowed, ip)
	}
	if len(allowed) == 0 {
		if denied == nil { // a resolver that returns no address and no error
			denied = fmt.Errorf("guard: resolve %q: no addresses", host)
		}
		return nil, denied
	}

	var firstErr error
	for i, ip := range allowed {
		now := time.Now()
		if !now.Before(deadline) {
			return nil, &timeoutError{fmt.Errorf("guard: dial %s: deadline reached", addr)}
		}
		ap := netip.AddrPortFrom(ip, uint16(port))
		if d.testHookDial != nil {
			d.testHookDial(ap)
		}
		nd := net.Dialer{
			Deadline: partialDeadline(now, deadline, len(allowed)-i),
			Control:  d.control,
		}
		conn, err := nd.Dial("tcp", ap.String())
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !time.Now().Before(deadline) {
			return nil, &timeoutError{fmt.Errorf("guard: dial %s: %w", addr, err)}
		}
	}
	return nil, fmt.Errorf("guard: dial %s: %w", addr, firstErr)
}

// resolve returns the addresses of host: the literal itself (zone kept), or
// what the resolver answers before deadline.
func (d *Dialer) resolve(host string, deadline time.Time) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ips, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		err = fmt.Errorf("guard: resolve %q: %w", host, err)
		var ne net.Error
		if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, &timeoutError{err}
		}
		return nil, err
	}
	return ips, nil
}

// control is the net.Dialer.Control hook: the last check, on the address the
// socket is about to connect to.
func (d *Dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable socket address %q", ErrDenied, address)
	}
	if why := d.checkAddr(ap.Addr()); why != "" {
		return fmt.Errorf("%w: socket address %s %s", ErrDenied, ap.Addr().WithZone(""), why)
	}
	return nil
}

// partialDeadline gives one of n remaining addresses its share of the time
// left, but at least 2s (or all that is left), as net.Dialer does.
func partialDeadline(now, deadline time.Time, n int) time.Time {
	left := deadline.Sub(now)
	share := left / time.Duration(n)
	const saneMinimum = 2 * time.Second
	if share < saneMinimum {
		share = min(left, saneMinimum)
	}
	return now.Add(share)
}

// timeoutError marks a lookup or connect that ran out of time: it is a
// net.Error whose Timeout() is true, and it wraps os.ErrDeadlineExceeded as
// well as the underlying error.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return e.err.Error() }
func (e *timeoutError) Unwrap() []error { return []error{e.err, os.ErrDeadlineExceeded} }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
