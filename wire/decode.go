// This file holds what Decode needs: go-json finds the key, and a one-pass
// scanner reads the integer array.

package wire

import (
	"bytes"
	"errors"
	"math"
)

var (
	errNoNumbers  = errors.New(`no "numbers" key`)
	errNull       = errors.New(`"numbers" is null`)
	errNotArray   = errors.New(`"numbers" is not an array`)
	errNotInteger = errors.New(`"numbers" holds something other than an integer`)
	errOverflow   = errors.New(`"numbers" holds an integer outside int64`)
	errTruncated  = errors.New(`"numbers" array is not closed`)
)

// numberList decodes the "numbers" array and remembers that the key was seen,
// so that a missing key and null are told apart from an empty array.
type numberList struct {
	seen bool
	vals []int64
}

// UnmarshalJSON accepts an array of JSON integers within int64, nothing else.
// go-json finds the object's keys (case-insensitively, as encoding/json
// does) and hands over the raw array; the array itself is scanned here in
// one pass, strictly by the JSON grammar, because it is the bulk of every
// body and the generic decoder spends most of its time on it (see
// BenchmarkDecode).
func (l *numberList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return errNull
	}
	l.seen = true
	vals, err := parseIntArray(b)
	l.vals = vals
	return err
}

// parseIntArray parses b, a JSON array of integers within int64 with
// optional whitespace around every token.
func parseIntArray(b []byte) ([]int64, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errNotArray
	}
	// Every element but the last is followed by a comma: count once, allocate once.
	out := make([]int64, 0, bytes.Count(b, []byte{','})+1)
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return out, trailing(b, i+1)
	}
	for {
		v, next, err := parseInt(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if i = skipSpace(b, next); i >= len(b) {
			return nil, errTruncated
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return out, trailing(b, i+1)
		default: // a fraction, an exponent, or anything else
			return nil, errNotInteger
		}
	}
}

// parseInt parses the JSON integer at b[i:], -?(0|[1-9][0-9]*), and returns
// it with the index just past it.
func parseInt(b []byte, i int) (int64, int, error) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var u uint64
	for ; i < len(b) && b[i]-'0' <= 9 && i-start < 20; i++ {
		u = u*10 + uint64(b[i]-'0') // 19 digits cannot overflow a uint64
	}
	switch n := i - start; {
	case n == 0, n > 1 && b[start] == '0':
		return 0, i, errNotInteger
	case n > 19, u > math.MaxInt64+uint64(b2i(neg)):
		return 0, i, errOverflow
	}
	if neg {
		return int64(-u), i, nil // -u wraps to two's complement: MinInt64 included
	}
	return int64(u), i, nil
}

// trailing fails unless only whitespace follows b[i:].
func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotArray
	}
	return nil
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// soleNumbers returns what follows the colon of a body that is an object
// with one key, "numbers" in ASCII letters of either case and no escape,
// up to the object's closing brace: the value, with its surrounding
// whitespace. Nearly every upstream sends exactly that, and parseIntArray
// then reads it straight from b, where go-json would scan the object and
// copy the array for UnmarshalJSON (a third of the bytes the service
// allocates in the soak). Anything else, or a value parseIntArray refuses,
// takes the general path, which accepts and refuses exactly as before.
func soleNumbers(b []byte) ([]byte, bool) {
	i := skipSpace(b, 0)
	end := len(b)
	for end > i && (b[end-1] == ' ' || b[end-1] == '\n' || b[end-1] == '\r' || b[end-1] == '\t') {
		end--
	}
	const key = "numbers"
	if end-i < len(key)+5 || b[i] != '{' || b[end-1] != '}' {
		return nil, false
	}
	if i = skipSpace(b, i+1); i+len(key)+2 > end || b[i] != '"' || b[i+len(key)+1] != '"' {
		return nil, false
	}
	for k := range len(key) {
		if b[i+1+k]|0x20 != key[k] { // every byte of key is a lower-case letter
			return nil, false
		}
	}
	if i = skipSpace(b, i+len(key)+2); i >= end || b[i] != ':' {
		return nil, false
	}
	return b[i+1 : end-1], true
}
