package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrOutcomes reports a malformed X-Numbers-Outcomes header.
var ErrOutcomes = errors.New("bench: malformed outcomes header")

// Outcomes is a parsed X-Numbers-Outcomes header: "ok=3,cached=0,failed=1,...".
type Outcomes struct {
	// OK, Cached, Invalid and Ejected are the counts under those keys (zero
	// when absent; ejected came later, at the end of the header).
	OK, Cached, Invalid, Ejected uint64
	// Total is the sum over every key, known or not.
	Total uint64
}

// Completeness is the share of valid upstreams that contributed:
// (ok+cached)/(total-invalid). With no valid upstream it is 1: nothing was missing.
func (o Outcomes) Completeness() float64 {
	valid := o.Total - o.Invalid
	if o.Invalid > o.Total || valid == 0 {
		return 1
	}
	return float64(o.OK+o.Cached) / float64(valid)
}

// ParseOutcomes parses the comma-separated key=value pairs of an outcomes
// header. Keys are any non-empty token, values decimal counts; spaces around
// pairs are allowed. visit, when not nil, is called with every pair (the key
// slice aliases h). It does not allocate.
func ParseOutcomes(h []byte, visit func(key []byte, n uint64)) (Outcomes, error) {
	var o Outcomes
	if len(bytes.TrimSpace(h)) == 0 {
		return o, fmt.Errorf("%w: empty", ErrOutcomes)
	}
	for more := true; more; {
		pair := h
		if i := bytes.IndexByte(h, ','); i >= 0 {
			pair, h = h[:i], h[i+1:]
		} else {
			more = false
		}
		pair = bytes.TrimSpace(pair)
		eq := bytes.IndexByte(pair, '=')
		if eq <= 0 {
			return Outcomes{}, fmt.Errorf("%w: pair %q", ErrOutcomes, pair)
		}
		key, val := bytes.TrimSpace(pair[:eq]), bytes.TrimSpace(pair[eq+1:])
		n, ok := parseCount(val)
		if !ok || len(key) == 0 {
			return Outcomes{}, fmt.Errorf("%w: pair %q", ErrOutcomes, pair)
		}
		switch string(key) {
		case "ok":
			o.OK += n
		case "cached":
			o.Cached += n
		case "invalid":
			o.Invalid += n
		case "ejected":
			o.Ejected += n
		}
		o.Total += n
		if visit != nil {
			visit(key, n)
		}
	}
	return o, nil
}

// parseCount parses a non-empty decimal without allocating.
func parseCount(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// countNumbers returns how many integers a compact {"numbers":[...]} body
// holds, and false when the body does not have that shape. It counts commas
// rather than parsing, which keeps the generator cheap.
func countNumbers(body []byte) (int, bool) {
	const prefix = `{"numbers":[`
	body = bytes.TrimSpace(body)
	if !bytes.HasPrefix(body, []byte(prefix)) || !bytes.HasSuffix(body, []byte("]}")) {
		return 0, false
	}
	inner := body[len(prefix) : len(body)-2]
	if len(inner) == 0 {
		return 0, true
	}
	return bytes.Count(inner, []byte{','}) + 1, true
}

// formatCount is strconv.FormatUint for table cells.
func formatCount(n uint64) string { return strconv.FormatUint(n, 10) }
