package handler

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestCanonicalURLValid(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain http", "http://example.com/numbers", "http://example.com/numbers"},
		{"upper-case scheme and host", "HTTPS://Example.COM/Path", "https://example.com/Path"},
		{"mixed-case scheme", "HtTp://a.test/x", "http://a.test/x"},
		{"no path", "http://a.test", "http://a.test"},
		{"ipv4 with port", "http://10.0.0.5:8090/primes", "http://10.0.0.5:8090/primes"},
		{"bracketed ipv6", "http://[::1]:8090/p", "http://[::1]:8090/p"},
		{"ipv6 lower-cased", "http://[2001:DB8::1]/", "http://[2001:db8::1]/"},
		{"ipv6 default port", "https://[::1]:443/", "https://[::1]/"},
		{"port 1", "http://a.test:1/", "http://a.test:1/"},
		{"port 65535", "http://a.test:65535/", "http://a.test:65535/"},
		{"leading zero port", "http://a.test:0080/", "http://a.test/"},
		{"query kept verbatim", "http://a.test/p?b=2&a=1", "http://a.test/p?b=2&a=1"},
		{"fragment dropped", "http://a.test/p?q=1#frag", "http://a.test/p?q=1"},
		{"empty fragment dropped", "http://a.test/p#", "http://a.test/p"},
		{"http default port dropped", "http://a.test:80/a", "http://a.test/a"},
		{"https default port dropped", "https://a.test:443/a", "https://a.test/a"},
		{"http on 443 kept", "http://a.test:443/", "http://a.test:443/"},
		{"https on 80 kept", "https://a.test:80/", "https://a.test:80/"},
		{"escaped path kept", "http://a.test/a%2Fb", "http://a.test/a%2Fb"},
		{"underscore and hyphen", "http://my_host-1.test/", "http://my_host-1.test/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := canonicalURL([]byte(tt.raw))
			if !ok || got != tt.want {
				t.Fatalf("canonicalURL(%q) = %q, %v; want %q, true", tt.raw, got, ok, tt.want)
			}
			again, ok := canonicalURL([]byte(got))
			if !ok || again != got {
				t.Fatalf("not idempotent: canonicalURL(%q) = %q, %v", got, again, ok)
			}
		})
	}
}

func TestCanonicalURLInvalid(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"empty", ""},
		{"relative path", "/numbers"},
		{"relative name", "example.com/numbers"},
		{"ftp", "ftp://x"},
		{"no scheme", "::bad"},
		{"scheme only", "http:"},
		{"no host", "http://"},
		{"no host with path", "http:///path"},
		{"opaque", "http:opaque"},
		{"NUL", "http://a.test/\x00"},
		{"DEL", "http://a.test/\x7f"},
		{"newline", "http://a.test/\n"},
		{"tab", "http://a.test/\tx"},
		{"space", "http://a.test/a b"},
		{"space in host", "http://a b/"},
		{"port 0", "http://a.test:0/"},
		{"port 65536", "http://a.test:65536/"},
		{"empty port", "http://a.test:/"},
		{"ipv6 empty port", "http://[::1]:/"},
		{"non-numeric port", "http://a.test:http/"},
		{"userinfo", "http://user:pass@a.test/"},
		{"user only", "http://user@a.test/"},
		{"broken bracket", "http://[::1"},
		{"unbracketed ipv6", "http://::1/"},
		{"ipv6 zone", "http://[fe80::1%25eth0]/"},
		{"bracketed ipv4", "http://[10.0.0.1]/"},
		{"non-ASCII host", "http://bücher.test/"},
		{"dots only", "http://../"},
		{"dots no path", "http://.."},
		{"double dot inside", "http://a..test/"},
		{"bad escape", "http://a.test/%zz"},
		{"javascript", "javascript:alert(1)"},
		{"mailto", "mailto:a@b.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := canonicalURL([]byte(tt.raw)); ok {
				t.Fatalf("canonicalURL(%q) = %q, true; want invalid", tt.raw, got)
			}
		})
	}
}

// argsOf returns query args with the u values in order.
func argsOf(us ...string) *fasthttp.Args {
	var a fasthttp.Args
	for _, u := range us {
		a.Add("u", u)
	}
	return &a
}

func TestParseURLs(t *testing.T) {
	tests := []struct {
		name        string
		us          []string
		max         int
		want        []string
		wantInvalid int
		wantErr     bool
	}{
		{"none", nil, 64, nil, 0, false},
		{"order kept", []string{"http://b.test/", "http://a.test/"}, 64, []string{"http://b.test/", "http://a.test/"}, 0, false},
		{"duplicates once", []string{"http://a.test/", "http://a.test/"}, 64, []string{"http://a.test/"}, 0, false},
		{"spellings once", []string{"http://a.test/x", "HTTP://A.TEST:80/x#f"}, 64, []string{"http://a.test/x"}, 0, false},
		{"invalid counted", []string{"ftp://x", "", "http://a.test/", "::bad"}, 64, []string{"http://a.test/"}, 3, false},
		{"invalid repeats counted", []string{"ftp://x", "ftp://x"}, 64, nil, 2, false},
		{"exactly max", []string{"http://a.test/", "http://b.test/", "http://a.test/"}, 2, []string{"http://a.test/", "http://b.test/"}, 0, false},
		{"over max", []string{"http://a.test/", "http://b.test/", "http://c.test/"}, 2, nil, 0, true},
		{"invalid do not count to max", []string{"x", "y", "z", "http://a.test/"}, 1, []string{"http://a.test/"}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid, err := parseURLs(argsOf(tt.us...), tt.max, newCanonicalMemo())
			if tt.wantErr {
				if !errors.Is(err, errTooManyURLs) {
					t.Fatalf("err = %v; want errTooManyURLs", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || invalid != tt.wantInvalid {
				t.Fatalf("parseURLs = %q, %d; want %q, %d", got, invalid, tt.want, tt.wantInvalid)
			}
		})
	}
}

// FuzzCanonicalURL checks canonicalURL against a simple oracle: it never
// panics, a result is idempotent, parses with net/url as an absolute http(s)
// URL with a host and no userinfo or fragment, and contains no byte the input
// rejected; any input with a control character, space or non-ASCII byte is
// invalid.
func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"http://a.test/x?y=1#z", "HTTPS://A.TEST:443/", "http://[::1]:80/", "ftp://x", "::bad",
		"http://a.test:0/", "http://[fe80::1%25eth0]/", "http:opaque", "http://..", "http://a.test/a%2Fb", "http://1.2.3.4:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := canonicalURL([]byte(raw))
		hasBad := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0
		if !ok {
			return
		}
		if hasBad {
			t.Fatalf("canonicalURL(%q) accepted a control, space or non-ASCII byte", raw)
		}
		again, ok2 := canonicalURL([]byte(got))
		if !ok2 || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, got, again, ok2)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", got, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("canonical %q of %q is not an absolute http(s) URL with a host", got, raw)
		}
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 || (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
				t.Fatalf("canonical %q has a bad or default port", got)
			}
		}
		if u.Hostname() != strings.ToLower(u.Hostname()) {
			t.Fatalf("canonical %q has an upper-case host", got)
		}
	})
}

// FuzzParseURLs checks that parseURLs never panics, returns distinct
// canonical URLs, at most max of them, and accounts for every value.
func FuzzParseURLs(f *testing.F) {
	f.Add("http://a.test/\nHTTP://A.test:80/\nftp://x\n\nhttp://b.test/", 2)
	memo := newCanonicalMemo() // shared by every input: remembered values must not leak into others
	f.Fuzz(func(t *testing.T, joined string, max int) {
		if max < 1 || max > 64 {
			max = 1 + (max&63+64)%64
		}
		values := strings.Split(joined, "\n")
		urls, invalid, err := parseURLs(argsOf(values...), max, memo)
		if err != nil {
			if !errors.Is(err, errTooManyURLs) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(urls) > max {
			t.Fatalf("%d URLs > max %d", len(urls), max)
		}
		seen := map[string]bool{}
		wantInvalid := 0
		for _, v := range values {
			c, ok := canonicalURL([]byte(v))
			if !ok {
				wantInvalid++
				continue
			}
			seen[c] = true
		}
		if invalid != wantInvalid || len(seen) != len(urls) {
			t.Fatalf("got %d URLs, %d invalid; oracle %d distinct, %d invalid", len(urls), invalid, len(seen), wantInvalid)
		}
		for _, u := range urls {
			if !seen[u] {
				t.Fatalf("URL %q is not the canonical form of any value", u)
			}
		}
	})
}

// TestCanonicalMemo: the memo answers as canonicalURL does, for values seen
// again and for values that take each other's slots.
func TestCanonicalMemo(t *testing.T) {
	memo := newCanonicalMemo()
	var values [][]byte
	for i := range 3 * canonicalSlots { // more values than slots: collisions
		values = append(values, []byte(fmt.Sprintf("HTTP://Host%d.test:80/p?i=%d#f", i%7, i)))
	}
	values = append(values, []byte("ftp://x"), []byte(""), []byte("http://a.test/"), []byte("http://[::1]:8090/x"))
	for round := range 2 {
		for _, v := range values {
			want, wantOK := canonicalURL(v)
			if got, ok := memo.canonical(v); got != want || ok != wantOK {
				t.Fatalf("round %d, %q: %q, %v; want %q, %v", round, v, got, ok, want, wantOK)
			}
		}
	}
	raw := []byte("http://a.test/x")
	first, _ := memo.canonical(raw)
	raw[7] = 'b' // the caller's bytes change (fasthttp reuses them): the memo kept its own copy
	if got, _ := memo.canonical(raw); got != "http://b.test/x" || first != "http://a.test/x" {
		t.Fatalf("after the bytes changed: %q (first %q)", got, first)
	}
}
