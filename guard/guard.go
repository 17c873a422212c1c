// Package guard keeps the service from being used to reach hosts and networks
// that operators have ruled out (server-side request forgery, docs/contract.md §5).
//
// A Dialer checks the host name against patterns before any DNS lookup, then
// resolves it itself, checks every resolved address against the network
// rules, and dials only an allowed address, so a name that resolves (or
// rebinds) to a forbidden address is refused. A last check runs on the socket
// address itself, through net.Dialer.Control, just before connect. Its
// DialTimeout method is a fasthttp.DialFuncWithTimeout: fasthttp passes it the
// time left before the request's deadline, and DNS and connect both stay
// within it.
//
// Dialer does not cache DNS answers. Connections are pooled by the fasthttp
// client, so a dial (and its lookup) happens only when a new connection is
// needed; net.Resolver already merges concurrent lookups of the same name; and
// a cache here would have to invent a TTL (net.Resolver does not expose the
// record's) and bound its size against caller-chosen names. A caching resolver
// on the host (systemd-resolved, nscd, dnsmasq) or a custom *net.Resolver
// passed to New is the place for one.
package guard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ErrDenied is returned (wrapped with the host or address and the rule that
// refused it) when the policy forbids an upstream. Check it with errors.Is.
var ErrDenied = errors.New("guard: upstream denied by policy")

// DefaultDenyNetsCSV is the default network deny list in the form
// ParsePrefixes reads: the cloud metadata addresses (IPv4 link-local, which
// holds 169.254.169.254, and AWS's IPv6 metadata address).
const DefaultDenyNetsCSV = "169.254.0.0/16,fd00:ec2::254/128"

// DefaultTimeout bounds DNS and connect when DialTimeout is given no timeout
// (fasthttp passes 0 for a request without a deadline). It equals
// fasthttp.DefaultDialTimeout.
const DefaultTimeout = 3 * time.Second

// DefaultDenyNets returns a fresh copy of the default network deny list
// (see DefaultDenyNetsCSV).
func DefaultDenyNets() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("fd00:ec2::254/128"),
	}
}

// Policy says which upstream hosts and networks may be dialled. The zero value
// is the default policy: deny 169.254.0.0/16 and fd00:ec2::254/128, allow
// everything else (loopback included, so that the local quick start works).
//
// A host must match AllowHosts (when non-empty) and no DenyHosts pattern; an
// address must lie in AllowNets (when non-empty) and in no DenyNets prefix.
// Deny always wins over allow. The unspecified addresses 0.0.0.0 and :: are
// always refused: connecting to them reaches the local host, which would get
// around a rule denying loopback.
type Policy struct {
	// AllowHosts lists host patterns: exact "example.com" (or an IP literal
	// such as "10.0.0.5"), or wildcard "*.example.com", which matches
	// subdomains at any depth but not example.com itself. Matching ignores
	// case and a trailing dot. Empty means any host.
	AllowHosts []string
	// DenyHosts lists patterns, in the same form, that are refused even if
	// AllowHosts matches. Empty means none.
	DenyHosts []string
	// AllowNets, if non-empty, requires every dialled address to lie in one of
	// these prefixes. Empty means any address not denied.
	AllowNets []netip.Prefix
	// DenyNets lists refused prefixes. Nil means DefaultDenyNets; an explicit
	// empty, non-nil slice means none.
	DenyNets []netip.Prefix
}

// Dialer dials upstreams for the fasthttp client after checking them against a
// Policy. It is safe for concurrent use. Create it with New.
type Dialer struct {
	allowHosts []pattern
	denyHosts  []pattern
	allowNets  []netip.Prefix
	denyNets   []netip.Prefix
	resolver   *net.Resolver

	// testHookDial, if set, is called with each address just before it is
	// dialled. Tests use it to prove that a denied address is never dialled.
	testHookDial func(netip.AddrPort)
}

// New returns a Dialer enforcing p, resolving names with r (nil means
// net.DefaultResolver). It validates the host patterns and returns an error
// naming the first bad one.
func New(p Policy, r *net.Resolver) (*Dialer, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	d := &Dialer{resolver: r}
	var err error
	if d.allowHosts, err = compilePatterns(p.AllowHosts); err != nil {
		return nil, err
	}
	if d.denyHosts, err = compilePatterns(p.DenyHosts); err != nil {
		return nil, err
	}
	d.allowNets = normalizePrefixes(p.AllowNets)
	if p.DenyNets == nil {
		d.denyNets = DefaultDenyNets()
	} else {
		d.denyNets = normalizePrefixes(p.DenyNets)
	}
	for _, pf := range append(d.allowNets[:len(d.allowNets):len(d.allowNets)], d.denyNets...) {
		if !pf.IsValid() {
			return nil, fmt.Errorf("guard: bad CIDR %q: invalid prefix", pf.String())
		}
	}
	return d, nil
}

// normalizePrefixes masks each prefix and rewrites IPv4-mapped IPv6 prefixes
// (::ffff:a.b.c.d/n, n >= 96) as IPv4 ones, because addresses are unmapped
// before they are checked. Invalid prefixes are kept, for New to report.
func normalizePrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if p.IsValid() && p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.IsValid() {
			p = p.Masked()
		}
		out = append(out, p)
	}
	return out
}

// AllowHost checks host (a name or IP literal, optionally bracketed, without a
// port) against the host patterns, before any DNS lookup. An IP literal is
// also checked against the network rules. It returns nil or an error wrapping
// ErrDenied. The fetcher may call it early to refuse a URL without dialling;
// DialTimeout calls it again.
func (d *Dialer) AllowHost(host string) error {
	h := normalizeHost(host)
	if h == "" {
		return fmt.Errorf("%w: empty host", ErrDenied)
	}
	ip, isIP := parseIP(h)
	if isIP {
		h = ip.String()
	}
	if p, ok := match(d.denyHosts, h, ip, isIP); ok {
		return fmt.Errorf("%w: host %q matches deny-hosts %q", ErrDenied, h, p)
	}
	if len(d.allowHosts) > 0 {
		if _, ok := match(d.allowHosts, h, ip, isIP); !ok {
			return fmt.Errorf("%w: host %q matches no allow-hosts pattern", ErrDenied, h)
		}
	}
	if isIP {
		if why := d.checkAddr(ip); why != "" {
			return fmt.Errorf("%w: address %s %s", ErrDenied, ip.WithZone(""), why)
		}
	}
	return nil
}

// checkAddr applies the network rules to ip (unmapped, zone dropped). It
// returns "" if ip may be dialled, else why not (for an error message).
func (d *Dialer) checkAddr(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return "is invalid"
	}
	if ip.IsUnspecified() {
		return "is unspecified (it reaches the local host)"
	}
	for _, p := range d.denyNets {
		if p.Contains(ip) {
			return "is in deny-nets " + p.String()
		}
	}
	if len(d.allowNets) == 0 {
		return ""
	}
	for _, p := range d.allowNets {
		if p.Contains(ip) {
			return ""
		}
	}
	return "is in no allow-nets prefix"
}

// normalizeHost lowercases host and drops brackets and trailing dots.
func normalizeHost(host string) string {
	host = strings.TrimRight(host, ".")
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(host)
}

// parseIP parses an IP literal (with an optional IPv6 zone), unmapped.
func parseIP(h string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
