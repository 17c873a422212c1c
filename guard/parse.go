// This file parses and matches host patterns and parses CIDR lists.

package guard

import (
	"fmt"
	"net/netip"
	"strings"
)

// pattern is a compiled host pattern.
type pattern struct {
	text   string     // normalized form, as written in error messages
	suffix string     // for a wildcard: ".example.com"; empty otherwise
	ip     netip.Addr // for an IP literal; invalid otherwise
}

// matches reports whether the normalized host h (ip, if isIP) matches p.
func (p pattern) matches(h string, ip netip.Addr, isIP bool) bool {
	switch {
	case p.ip.IsValid():
		return isIP && ip.WithZone("") == p.ip
	case p.suffix != "":
		return !isIP && len(h) > len(p.suffix) && strings.HasSuffix(h, p.suffix)
	default:
		return !isIP && h == p.text
	}
}

// match returns the first pattern in ps that matches the host.
func match(ps []pattern, h string, ip netip.Addr, isIP bool) (string, bool) {
	for _, p := range ps {
		if p.matches(h, ip, isIP) {
			return p.text, true
		}
	}
	return "", false
}

func compilePatterns(in []string) ([]pattern, error) {
	out := make([]pattern, 0, len(in))
	for _, s := range in {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// compilePattern validates and normalizes one host pattern.
func compilePattern(s string) (pattern, error) {
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("guard: bad host pattern %q: %s", s, why)
	}
	h := normalizeHost(strings.TrimSpace(s))
	if h == "" {
		return bad("empty")
	}
	if ip, ok := parseIP(h); ok {
		if ip.Zone() != "" {
			return bad("an IP pattern may not have a zone")
		}
		return pattern{text: ip.String(), ip: ip}, nil
	}
	name, wildcard := strings.CutPrefix(h, "*.")
	if err := checkHostname(name); err != nil {
		return bad(err.Error())
	}
	if wildcard {
		return pattern{text: h, suffix: "." + name}, nil
	}
	return pattern{text: h}, nil
}

// checkHostname accepts an ASCII DNS name (letters, digits, '-' and '_' in
// labels of 1 to 63 bytes, 253 bytes at most); '*' appears only as the whole
// first label of a wildcard pattern, which the caller has removed.
func checkHostname(name string) error {
	if name == "" {
		return fmt.Errorf("no name after the wildcard")
	}
	if len(name) > 253 {
		return fmt.Errorf("longer than 253 bytes")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label longer than 63 bytes")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			case c == '*':
				return fmt.Errorf("'*' is allowed only as a whole first label, as in *.example.com")
			case c >= 0x80:
				return fmt.Errorf("non-ASCII name: use its punycode (xn--) form")
			default:
				return fmt.Errorf("invalid character %q", c)
			}
		}
	}
	return nil
}

// ParsePatterns parses a comma-separated list of host patterns (see
// Policy.AllowHosts), as given to the -allow-hosts and -deny-hosts flags.
// Spaces around items and empty items are ignored; the result is normalized
// (lowercase, no trailing dot). An empty list gives an empty slice. An error
// names the first bad pattern.
func ParsePatterns(csv string) ([]string, error) {
	out := []string{}
	for item := range strings.SplitSeq(csv, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		p, err := compilePattern(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p.text)
	}
	return out, nil
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes, as given to
// the -allow-nets and -deny-nets flags. A bare address stands for itself
// (/32 or /128); host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8). Spaces
// around items and empty items are ignored. The result is never nil on
// success, so an empty list given for Policy.DenyNets means "deny none"
// rather than the defaults. An error names the first bad item.
func ParsePrefixes(csv string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for item := range strings.SplitSeq(csv, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("guard: bad CIDR %q: %w", item, err)
			}
		} else {
			ip, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("guard: bad CIDR %q: %w", item, err)
			}
			if ip.Zone() != "" {
				return nil, fmt.Errorf("guard: bad CIDR %q: zones are not allowed", item)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, normalizePrefixes([]netip.Prefix{p})[0])
	}
	return out, nil
}
