// distinct.go gives every request of an attack upstream URLs of its own.

package bench

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// NonceParam is the query parameter that Attack.Distinct appends to every
// upstream URL. The simulator accepts and ignores it (package simulator).
const NonceParam = "nonce"

// distinctURL rewrites a /numbers URL so that request i asks for upstream
// URLs no other request asks for: every u= value gets nonce=<tag>-<i>
// appended (before any fragment), URL-encoded inside the value. The service
// then neither coalesces nor caches one request's fetches for another, as
// with real callers whose URLs differ.
//
// The URL is cut, once, just after each u= value's nonce prefix, so that a
// request's URL is segs[0] i segs[1] i ... segs[len-1]: building it is a few
// appends and strconv.AppendUint into the caller's buffer.
type distinctURL struct {
	segs []string
}

// newDistinctURL prepares raw, an http URL with at least one u= parameter.
// tag tells apart the attacks that use the same URL.
func newDistinctURL(raw, tag string) (*distinctURL, error) {
	base, query, _ := strings.Cut(raw, "?")
	var (
		d    distinctURL
		b    strings.Builder
		rest string // the escaped fragment of the previous u= value, which follows its counter
	)
	b.WriteString(base)
	b.WriteByte('?')
	for i, pair := range strings.Split(query, "&") {
		b.WriteString(rest)
		rest = ""
		if i > 0 {
			b.WriteByte('&')
		}
		k, v, _ := strings.Cut(pair, "=")
		if k != "u" {
			b.WriteString(pair)
			continue
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: distinct: u=%q: %w", ErrAttack, v, err)
		}
		u, frag, hasFrag := strings.Cut(u, "#")
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		b.WriteString("u=")
		b.WriteString(url.QueryEscape(u + sep + NonceParam + "=" + tag + "-"))
		d.segs = append(d.segs, b.String())
		b.Reset()
		if hasFrag {
			rest = url.QueryEscape("#" + frag)
		}
	}
	if len(d.segs) == 0 {
		return nil, fmt.Errorf("%w: distinct: %q has no u= parameter", ErrAttack, raw)
	}
	b.WriteString(rest)
	d.segs = append(d.segs, b.String())
	return &d, nil
}

// append appends request i's URL to dst.
func (d *distinctURL) append(dst []byte, i uint64) []byte {
	dst = append(dst, d.segs[0]...)
	for _, s := range d.segs[1:] {
		dst = strconv.AppendUint(dst, i, 10)
		dst = append(dst, s...)
	}
	return dst
}
