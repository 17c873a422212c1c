package handler

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// errTooManyURLs is returned when a request names more distinct valid URLs
// than allowed.
var errTooManyURLs = errors.New("too many URLs")

// parseURLs returns the distinct valid upstream URLs of the query's u values,
// in canonical form and in the order first seen, and how many values were
// invalid. It fails only when there are more than max distinct valid URLs.
// The returned strings are copies: they outlive the request. memo
// remembers the canonical forms of the values seen lately.
func parseURLs(args *fasthttp.Args, max int, memo *canonicalMemo) (urls []string, invalid int, err error) {
	for _, v := range args.PeekMulti("u") {
		u, ok := memo.canonical(v)
		if !ok {
			invalid++
			continue
		}
		if contains(urls, u) {
			continue
		}
		if len(urls) == max {
			return nil, invalid, fmt.Errorf("%w: at most %d distinct URLs per request", errTooManyURLs, max)
		}
		urls = append(urls, u)
	}
	return urls, invalid, nil
}

// contains is a linear scan: requests hold at most max-urls (64) values, where
// a scan beats a map and allocates nothing.
func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// canonicalURL validates raw as docs/contract.md §1.1 says and returns it in canonical form:
// lower-case scheme and host, no default port, no fragment, path and query
// kept verbatim. Two spellings of one URL canonicalise to the same string.
func canonicalURL(raw []byte) (string, bool) {
	for _, c := range raw {
		if c <= ' ' || c >= 0x7f {
			return "", false // control characters, spaces and non-ASCII
		}
	}
	u, err := url.Parse(string(raw))
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, ok := canonicalHost(u.Hostname())
	if !ok {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
		if !(scheme == "http" && n == 80 || scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	u.Scheme, u.Host, u.Fragment, u.RawFragment = scheme, host, "", ""
	return u.String(), true
}

// canonicalHost accepts an IP address or a DNS name and returns it lower-cased.
func canonicalHost(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	if strings.Contains(h, ":") { // only a bracketed IPv6 literal has colons here
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return a.String(), true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", false
		}
	}
	if strings.Trim(h, ".") == "" || strings.Contains(h, "..") {
		return "", false
	}
	return strings.ToLower(h), true
}
