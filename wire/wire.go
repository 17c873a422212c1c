// Package wire reads and writes the service's JSON wire format: the document
// {"numbers":[...]}, a JSON object whose key "numbers" holds an array of
// integers within int64.
//
//   - [AppendJSON] writes the service's response body: exactly that object,
//     compact (no spaces), the numbers in the order given. [EncodedSizeHint]
//     sizes the buffer for it.
//   - [Decode] reads an upstream's body, by the rules upstreams are held to
//     (docs/contract.md §1.2): the key matches ASCII case-insensitively, other keys are
//     ignored, whitespace is allowed anywhere, and anything but an array of
//     JSON integers within int64 is an error.
//
// The package is pure computation: no I/O, no goroutines, no context. Both
// directions run over every number of every request, so both are tuned:
// change them with their benchmarks at hand.
//
// Ownership: AppendJSON only appends to dst. Decode neither modifies nor
// retains its argument, and returns a slice of its own.
package wire

import (
	"slices"
	"sync"

	json "github.com/goccy/go-json"
)

const (
	jsonPrefix = `{"numbers":[`
	jsonSuffix = `]}`
)

// encodeSlack is how many bytes the fast encoder may write past the end of
// the number it encodes: its 8-byte stores reach up to 7 bytes beyond it.
const encodeSlack = 8

// EncodedSizeHint returns the capacity AppendJSON needs for nums. For a
// sorted list it is an upper bound that is tight for typical data (it
// assumes every number is as wide as the widest end of the list, which costs
// O(1) to find), plus a few bytes that let the encoder use wide stores up to
// the last number; for an unsorted list it is only an estimate, and
// AppendJSON grows again if it falls short.
func EncodedSizeHint(nums []int64) int {
	n := len(jsonPrefix) + len(jsonSuffix)
	if len(nums) == 0 {
		return n
	}
	w := max(intLen(nums[0]), intLen(nums[len(nums)-1]))
	return n + len(nums)*(w+1) - 1 + encodeSlack
}

// AppendJSON appends exactly {"numbers":[1,2,3]} for nums to dst (compact,
// no spaces, {"numbers":[]} for an empty or nil list) and returns the
// extended slice. The numbers are written in the order given; the output is
// identical to encoding/json's for a struct with one []int64 field tagged
// "numbers" holding a non-nil slice. It grows dst once, by
// [EncodedSizeHint], when nums is sorted.
//
// It is fastest on sorted lists: it encodes runs of numbers that share a
// sign and a digit count, working out the width once per run (a sorted list
// has at most 39 runs) and writing every number of the run at that fixed
// width.
func AppendJSON(dst []byte, nums []int64) []byte {
	dst = slices.Grow(dst, EncodedSizeHint(nums))
	dst = append(dst, jsonPrefix...)
	if len(nums) == 0 {
		return append(dst, jsonSuffix...)
	}
	// Every number is written with a separator in front; the first one's
	// lands on the '[' of the prefix, which is put back at the end.
	open := len(dst) - 1
	buf := dst[:cap(dst)]
	pos := open
	for i := 0; i < len(nums); {
		v := nums[i]
		u, neg := uint64(v), 0
		if v < 0 {
			u, neg = -u, 1
		}
		d := decimalLen(u)
		width := 1 + neg + d
		// Numbers of this width that fit in the buffer with the fast
		// encoder's slack after them.
		room := (len(buf) - pos - encodeSlack) / width
		if room > 0 {
			var n int
			n, pos = encodeRun(buf, pos, nums[i:i+min(room, len(nums)-i)], neg, d)
			i += n
			continue
		}
		// Near the end of the buffer: one number, exactly sized.
		if pos+width > len(buf) {
			// Only when nums is unsorted and the hint fell short: reserve
			// room for the rest at the widest possible width.
			buf = slices.Grow(buf[:pos], (len(nums)-i)*(maxIntLen+1)+len(jsonSuffix)+encodeSlack)
			buf = buf[:cap(buf)]
			continue
		}
		buf[pos] = ','
		buf[pos+1] = '-' // overwritten by the first digit when v >= 0
		putDigits(buf[pos+1+neg:pos+width], u)
		pos += width
		i++
	}
	buf[open] = '['
	return append(buf[:pos], jsonSuffix...)
}

// body is an upstream document. Keys match case-insensitively, as with
// encoding/json, because real upstreams send "Numbers".
type body struct {
	Numbers numberList `json:"numbers"`
}

var bodyPool = sync.Pool{New: func() any { return new(body) }}

// Decode returns the integers of an upstream body, in the body's order,
// repeats included. The body must be a JSON object whose key "numbers",
// matched ASCII case-insensitively as encoding/json does, holds an array of
// JSON integers within int64; other keys are ignored and whitespace is
// allowed anywhere. Anything else is an error: no such key, null, a value
// that is not an array, an element that is not an integer literal (1.0 and
// 1e3 are not), an integer outside int64, malformed or truncated JSON, data
// after the object. A body that repeats the key may be rejected; when it is
// not, the last one counts, as with encoding/json. On success the slice is
// never nil. The error says what is wrong for a log; callers only need to
// know that there is one.
func Decode(b []byte) ([]int64, error) {
	if arr, ok := soleNumbers(b); ok {
		if vals, err := parseIntArray(arr); err == nil {
			return vals, nil
		}
		// Not an array of integers: the general path says what is wrong.
	}
	d := bodyPool.Get().(*body)
	defer bodyPool.Put(d)
	d.Numbers = numberList{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, err
	}
	if !d.Numbers.seen {
		return nil, errNoNumbers
	}
	if d.Numbers.vals == nil {
		return []int64{}, nil
	}
	return d.Numbers.vals, nil
}
