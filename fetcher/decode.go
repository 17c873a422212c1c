package fetcher

import (
	"bytes"
	"errors"
	"sync"

	json "github.com/goccy/go-json"
)

var (
	errNoNumbers   = errors.New(`no "numbers" key`)
	errNull        = errors.New(`"numbers" is null`)
	errNullElement = errors.New(`"numbers" holds null`)
)

// numberList decodes the "numbers" array and remembers that the key was seen,
// so that a missing key and null are told apart from an empty array.
type numberList struct {
	seen bool
	vals []int64
}

// UnmarshalJSON accepts an array of JSON integers within int64, nothing else.
func (l *numberList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return errNull
	}
	l.seen = true
	if err := json.Unmarshal(b, &l.vals); err != nil {
		return err
	}
	// Like encoding/json, go-json decodes a null element into an int64 as 0.
	// Once the array decoded as integers, its only possible letter is the n
	// of a null, which is not an integer: refuse it rather than invent a 0.
	if bytes.IndexByte(b, 'n') >= 0 {
		return errNullElement
	}
	return nil
}

// body is an upstream document. Keys match case-insensitively, as with
// encoding/json, because real upstreams send "Numbers".
type body struct {
	Numbers numberList `json:"numbers"`
}

var bodyPool = sync.Pool{New: func() any { return new(body) }}

// decode returns the integers of an upstream body, in the upstream's order.
func decode(b []byte) ([]int64, error) {
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
