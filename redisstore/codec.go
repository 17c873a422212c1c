// codec.go encodes what is kept in Redis: cache entries and job documents,
// compactly (numbers as varint deltas: they are sorted), with a version
// byte so that a later format can be told apart.

package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"numbers/cache"
	"numbers/jobs"
	"numbers/outcome"
)

// formatV1 is the first byte of every value this package writes.
const formatV1 = 1

// errFormat is a value this package did not write, or a truncated one.
var errFormat = errors.New("redisstore: malformed value")

// appendNumbers appends sorted numbers: their count, then each as its
// difference from the one before (the first from 0), zig-zag varints.
func appendNumbers(b []byte, nums []int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(nums)))
	var prev int64
	for _, n := range nums {
		b = binary.AppendVarint(b, n-prev) // wraps for extreme gaps; decoding wraps back
		prev = n
	}
	return b
}

// reader reads what the append functions wrote; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 { v, n := binary.Uvarint(r.b); return take(r, v, n) }

func (r *reader) varint() int64 { v, n := binary.Varint(r.b); return take(r, v, n) }

// take returns v, read from the first n bytes of r.b, and drops them; n <= 0
// is a malformed value.
func take[T any](r *reader, v T, n int) T {
	if n <= 0 {
		r.err, r.b = errFormat, nil
		var zero T
		return zero
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) time() time.Time { return time.Unix(0, r.varint()) }

func (r *reader) numbers() []int64 {
	n := r.uvarint()
	if n > uint64(len(r.b)) { // each number takes a byte at least
		r.err, r.b = errFormat, nil
		return nil
	}
	nums := make([]int64, n)
	var prev int64
	for i := range nums {
		prev += r.varint()
		nums[i] = prev
	}
	return nums
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errFormat, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// version reads the format byte.
func (r *reader) version() {
	if len(r.b) == 0 || r.b[0] != formatV1 {
		r.err, r.b = errFormat, nil
		return
	}
	r.b = r.b[1:]
}

// encodeEntry encodes a cache entry; its instants are wall-clock times, so
// that another process can read them.
func encodeEntry(e cache.Entry) []byte {
	b := make([]byte, 0, 32+2*len(e.Numbers))
	b = append(b, formatV1)
	b = binary.AppendVarint(b, e.ResponseTime.UnixNano())
	b = binary.AppendVarint(b, e.FreshUntil.UnixNano())
	b = binary.AppendVarint(b, e.StaleUntil.UnixNano())
	return appendNumbers(b, e.Numbers)
}

// decodeEntry decodes what encodeEntry wrote.
func decodeEntry(b []byte) (cache.Entry, error) {
	r := reader{b: b}
	r.version()
	e := cache.Entry{ResponseTime: r.time(), FreshUntil: r.time(), StaleUntil: r.time(), Numbers: r.numbers()}
	if r.err == nil && len(r.b) != 0 {
		r.err = errFormat
	}
	return e, r.err
}

// encodeSnapshot encodes a job's document.
func encodeSnapshot(s *jobs.Snapshot) []byte {
	b := make([]byte, 0, 64+len(s.ID)+len(s.Error)+2*len(s.Numbers))
	b = append(b, formatV1, byte(s.State))
	b = binary.AppendUvarint(b, uint64(len(s.ID)))
	b = append(b, s.ID...)
	b = binary.AppendVarint(b, s.Created.UnixNano())
	b = binary.AppendVarint(b, s.Deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(s.Total))
	b = binary.AppendUvarint(b, uint64(s.Settled))
	b = binary.AppendUvarint(b, uint64(len(s.Outcomes)))
	for _, n := range s.Outcomes {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = binary.AppendUvarint(b, uint64(len(s.Error)))
	b = append(b, s.Error...)
	return appendNumbers(b, s.Numbers)
}

// decodeSnapshot decodes what encodeSnapshot wrote. Outcomes added after
// the value was written read as 0; outcomes it has beyond ours are dropped.
func decodeSnapshot(b []byte) (*jobs.Snapshot, error) {
	r := reader{b: b}
	r.version()
	if len(r.b) == 0 {
		return nil, errFormat
	}
	s := &jobs.Snapshot{State: jobs.State(r.b[0])}
	r.b = r.b[1:]
	s.ID = r.string()
	s.Created, s.Deadline = r.time(), r.time()
	s.Total, s.Settled = int(r.uvarint()), int(r.uvarint())
	for i := range r.uvarint() {
		if n := int(r.uvarint()); i < uint64(outcome.Count) {
			s.Outcomes[i] = n
		}
		if r.err != nil {
			break
		}
	}
	s.Error = r.string()
	s.Numbers = r.numbers()
	if r.err == nil && len(r.b) != 0 {
		r.err = errFormat
	}
	return s, r.err
}
