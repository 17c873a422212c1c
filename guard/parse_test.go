package guard

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParsePatterns(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string // nil: an error is expected
	}{
		{"empty", "", []string{}},
		{"only commas and spaces", " , ,", []string{}},
		{"one", "example.com", []string{"example.com"}},
		{"normalized", " Example.COM. , *.API.example.com ", []string{"example.com", "*.api.example.com"}},
		{"IP literals", "10.0.0.5,[::1],::FFFF:10.0.0.6", []string{"10.0.0.5", "::1", "10.0.0.6"}},
		{"underscore and digits", "_dmarc.x1-y.example", []string{"_dmarc.x1-y.example"}},
		{"bare star", "*", nil},
		{"star dot", "*.", nil},
		{"star inside", "a*.example.com", nil},
		{"second-level star", "a.*.example.com", nil},
		{"double star", "*.*.example.com", nil},
		{"space inside", "exa mple.com", nil},
		{"port", "example.com:80", nil},
		{"scheme", "http://example.com", nil},
		{"empty label", "a..b", nil},
		{"label too long", strings.Repeat("a", 64) + ".com", nil},
		{"name too long", strings.Repeat("a.", 127) + "com", nil},
		{"non-ASCII", "bücher.example", nil},
		{"zone", "fe80::1%eth0", nil},
		{"bad after good", "example.com,bad name", nil},
	}
	for _, tc := range cases {
		checkParse(t, tc.name, "ParsePatterns", ParsePatterns, tc.in, tc.want, "guard: bad host pattern ")
	}
}

func TestParsePrefixes(t *testing.T) {
	p := netip.MustParsePrefix
	cases := []struct {
		name string
		in   string
		want []netip.Prefix // nil: an error is expected
	}{
		{"empty is empty, not nil", "", []netip.Prefix{}},
		{"default list", "169.254.0.0/16, fd00:ec2::254", []netip.Prefix{p("169.254.0.0/16"), p("fd00:ec2::254/128")}},
		{"bare IPv4", "10.0.0.5", []netip.Prefix{p("10.0.0.5/32")}},
		{"host bits cleared", "10.1.2.3/8", []netip.Prefix{p("10.0.0.0/8")}},
		{"mapped prefix unmapped", "::ffff:10.0.0.0/104", []netip.Prefix{p("10.0.0.0/8")}},
		{"all mapped is all IPv4", "::ffff:0:0/96", []netip.Prefix{p("0.0.0.0/0")}},
		{"short IPv6 prefix masked", "::ffff:0:0/80", []netip.Prefix{p("::/80")}},
		{"trailing comma", "127.0.0.0/8,", []netip.Prefix{p("127.0.0.0/8")}},
		{"all", "0.0.0.0/0,::/0", []netip.Prefix{p("0.0.0.0/0"), p("::/0")}},
		{"garbage", "x", nil},
		{"bad bits", "10.0.0.0/33", nil},
		{"negative bits", "10.0.0.0/-1", nil},
		{"hostname", "example.com/8", nil},
		{"zone", "fe80::1%eth0", nil},
		{"zone in prefix", "fe80::%eth0/64", nil},
		{"bad after good", "10.0.0.0/8,nope", nil},
	}
	for _, tc := range cases {
		checkParse(t, tc.name, "ParsePrefixes", ParsePrefixes, tc.in, tc.want, "guard: bad CIDR ")
	}
}

// checkParse runs one case of a list parser: want nil expects an error
// starting with errPrefix, anything else exactly that list (empty, not nil,
// for an empty one).
func checkParse[T comparable](t *testing.T, name, fn string, parse func(string) ([]T, error), in string, want []T, errPrefix string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		got, err := parse(in)
		if want == nil {
			if err == nil || !strings.HasPrefix(err.Error(), errPrefix) {
				t.Fatalf("%s(%q) = %v, %v; want a %s error", fn, in, got, err, strings.TrimSpace(errPrefix))
			}
			return
		}
		if err != nil || got == nil || !slices.Equal(got, want) {
			t.Fatalf("%s(%q) = %v, %v; want %v", fn, in, got, err, want)
		}
	})
}

// FuzzParsePrefixes checks ParsePrefixes against a trivially correct oracle:
// every item must be what netip parses (as a prefix, or as an address standing
// for itself), masked.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8", "fd00:ec2::254", "::ffff:1.2.3.4/120, 1.2.3.4", "x,,y", "fe80::1%a/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePrefixes(s)
		var want []netip.Prefix
		for item := range strings.SplitSeq(s, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			pf, perr := netip.ParsePrefix(item)
			if perr != nil && !strings.Contains(item, "/") {
				if ip, aerr := netip.ParseAddr(item); aerr == nil && ip.Zone() == "" {
					pf, perr = netip.PrefixFrom(ip, ip.BitLen()), nil
				}
			}
			if perr != nil {
				if err == nil {
					t.Fatalf("ParsePrefixes(%q) accepted bad item %q", s, item)
				}
				return
			}
			want = append(want, pf)
		}
		if err != nil {
			t.Fatalf("ParsePrefixes(%q) = %v, want success", s, err)
		}
		if len(got) != len(want) {
			t.Fatalf("ParsePrefixes(%q) = %v, want %v", s, got, want)
		}
		for i := range want {
			// Same set of addresses: both contain each other's base address
			// and have the same size (mapped prefixes are rewritten as IPv4).
			w := want[i].Masked()
			if w.Addr().Is4In6() && w.Bits() >= 96 {
				w = netip.PrefixFrom(w.Addr().Unmap(), w.Bits()-96)
			}
			if got[i] != w {
				t.Fatalf("ParsePrefixes(%q)[%d] = %v, want %v", s, i, got[i], w)
			}
		}
	})
}

// FuzzAllowHost checks that AllowHost never panics and agrees with a direct
// oracle on the two properties that matter: an exact deny pattern refuses
// the host in any case and with a trailing dot, and an IP literal in the
// default deny list is refused.
func FuzzAllowHost(f *testing.F) {
	for _, s := range []string{"example.com", "[::1]", "169.254.169.254", "A.Example.COM.", "*.x", "[", "]", "%", "fe80::1%eth0", "::ffff:169.254.1.1"} {
		f.Add(s)
	}
	def, err := New(Policy{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		err := def.AllowHost(host)
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Fatalf("AllowHost(%q) = %v, not ErrDenied", host, err)
		}
		h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if ip, perr := netip.ParseAddr(h); perr == nil {
			ip = ip.Unmap().WithZone("")
			metadata := netip.MustParsePrefix("169.254.0.0/16").Contains(ip) || ip == netip.MustParseAddr("fd00:ec2::254")
			if metadata && err == nil {
				t.Fatalf("AllowHost(%q) allowed a metadata address", host)
			}
		}
		host = strings.TrimSpace(host) // ParsePatterns trims list items
		pats, perr := ParsePatterns(host)
		if perr != nil || len(pats) != 1 || strings.Contains(host, ",") {
			return
		}
		d, err := New(Policy{DenyHosts: pats}, nil)
		if err != nil {
			t.Fatalf("ParsePatterns accepted %q but New refused it: %v", host, err)
		}
		if strings.HasPrefix(pats[0], "*.") {
			host = "x" + host[1:]
		}
		for _, v := range []string{host, strings.ToUpper(host), host + "."} {
			if err := d.AllowHost(v); !errors.Is(err, ErrDenied) {
				t.Fatalf("deny pattern %q did not refuse %q: %v", pats[0], v, err)
			}
		}
	})
}
