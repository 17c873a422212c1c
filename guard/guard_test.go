package guard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAllowHost(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
		host   string
		denied bool
	}{
		{"default allows a name", Policy{}, "example.com", false},
		{"default allows loopback", Policy{}, "127.0.0.1", false},
		{"default allows bracketed ::1", Policy{}, "[::1]", false},
		{"default denies metadata literal", Policy{}, "169.254.169.254", true},
		{"default denies IPv6 metadata literal", Policy{}, "[FD00:EC2::254]", true},
		{"default denies mapped metadata literal", Policy{}, "::ffff:169.254.169.254", true},
		{"empty host", Policy{}, "", true},
		{"exact match", Policy{AllowHosts: []string{"example.com"}}, "example.com", false},
		{"exact ignores case and trailing dot", Policy{AllowHosts: []string{"Example.COM."}}, "EXAMPLE.com.", false},
		{"exact does not match subdomain", Policy{AllowHosts: []string{"example.com"}}, "a.example.com", true},
		{"exact does not match other", Policy{AllowHosts: []string{"example.com"}}, "example.org", true},
		{"wildcard matches subdomain", Policy{AllowHosts: []string{"*.example.com"}}, "a.example.com", false},
		{"wildcard matches deep subdomain", Policy{AllowHosts: []string{"*.example.com"}}, "a.b.example.com", false},
		{"wildcard excludes apex", Policy{AllowHosts: []string{"*.example.com"}}, "example.com", true},
		{"wildcard excludes suffix lookalike", Policy{AllowHosts: []string{"*.example.com"}}, "badexample.com", true},
		{"wildcard excludes dot only", Policy{AllowHosts: []string{"*.example.com"}}, ".example.com", true},
		{"deny exact", Policy{DenyHosts: []string{"evil.com"}}, "EVIL.com.", true},
		{"deny wins over allow", Policy{AllowHosts: []string{"*.example.com"}, DenyHosts: []string{"admin.example.com"}}, "admin.example.com", true},
		{"deny wildcard wins over exact allow", Policy{AllowHosts: []string{"a.example.com"}, DenyHosts: []string{"*.example.com"}}, "a.example.com", true},
		{"allow list with other host allowed", Policy{AllowHosts: []string{"*.example.com"}, DenyHosts: []string{"admin.example.com"}}, "api.example.com", false},
		{"IP pattern matches literal", Policy{AllowHosts: []string{"10.0.0.5"}}, "10.0.0.5", false},
		{"IP pattern matches mapped literal", Policy{AllowHosts: []string{"10.0.0.5"}}, "::ffff:10.0.0.5", false},
		{"IPv6 pattern matches other spelling", Policy{AllowHosts: []string{"[::1]"}}, "0:0::1", false},
		{"IPv6 pattern ignores host zone", Policy{AllowHosts: []string{"fe80::1"}}, "fe80::1%eth0", false},
		{"IP pattern does not match name", Policy{AllowHosts: []string{"10.0.0.5"}}, "example.com", true},
		{"wildcard does not match IP", Policy{AllowHosts: []string{"*.0.0.5"}}, "10.0.0.5", true},
		{"deny IP pattern", Policy{DenyHosts: []string{"127.0.0.1"}}, "127.0.0.1", true},
		{"host allowed but IP literal in deny-nets", Policy{AllowHosts: []string{"10.0.0.5"}, DenyNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "10.0.0.5", true},
		{"IP literal outside allow-nets", Policy{AllowNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "127.0.0.1", true},
		{"name not checked against nets", Policy{AllowNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "example.com", false},
		{"host with port matches no pattern", Policy{AllowHosts: []string{"example.com"}}, "example.com:80", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = d.AllowHost(tc.host)
			if got := errors.Is(err, ErrDenied); got != tc.denied {
				t.Fatalf("AllowHost(%q) = %v, want denied=%v", tc.host, err, tc.denied)
			}
		})
	}
}

func TestNewRejectsBadPolicy(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
	}{
		{"bad allow pattern", Policy{AllowHosts: []string{"exa mple.com"}}},
		{"bad deny pattern", Policy{DenyHosts: []string{"*"}}},
		{"zero allow prefix", Policy{AllowNets: []netip.Prefix{{}}}},
		{"zero deny prefix", Policy{DenyNets: []netip.Prefix{{}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.policy, nil); err == nil || !strings.HasPrefix(err.Error(), "guard: ") {
				t.Fatalf("New = %v, want a guard: error", err)
			}
		})
	}
}

func TestNewDoesNotAliasPolicy(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	d, err := New(Policy{AllowNets: allow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	allow[0] = netip.MustParsePrefix("127.0.0.0/8")
	if err := d.AllowHost("127.0.0.1"); !errors.Is(err, ErrDenied) {
		t.Fatalf("changing the caller's slice changed the policy: %v", err)
	}
}

func TestDefaultDenyNetsCSV(t *testing.T) {
	got, err := ParsePrefixes(DefaultDenyNetsCSV)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultDenyNets()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
