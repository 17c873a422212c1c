// payload.go generates and renders the number lists, and caches rendered bodies.

package simulator

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// classicLists are the fixed lists of the original challenge's test server, by Params.fixed.
var classicLists = [...][]int64{
	nil,
	{2, 3, 5, 7, 11, 13},       // /primes
	{1, 1, 2, 3, 5, 8, 13, 21}, // /fibo
	{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23},    // /odd
	{5, 17, 3, 19, 76, 24, 1, 5, 10, 34, 8, 27, 7}, // /rand
}

// payload is everything that determines a rendered body; it is also the key
// of the body cache.
type payload struct {
	n        int
	min, max int64
	dup      float64
	order    order
	pretty   bool
	key      string
	seed     int64
	fixed    uint8 // index into classicLists; 0: generated
}

// payloadKey returns the body cache key of p, with the server's seed when the
// request gave none.
func (p *Params) payloadKey(serverSeed int64) payload {
	k := p.payload
	if !p.hasSeed {
		k.seed = serverSeed
	}
	if k.fixed != 0 { // generation parameters do not matter for a fixed list
		k.n, k.min, k.max, k.dup = 0, 0, 0, 0
		if k.order != orderRandom {
			k.seed = 0
		}
	}
	return k
}

// numbers returns the list for k; deterministic in k.
func (k *payload) numbers() []int64 {
	var pcg rand.PCG
	h := uint64(k.n)*0x9e3779b97f4a7c15 ^ uint64(k.min)*0xbf58476d1ce4e5b9 ^ uint64(k.max)*0x94d049bb133111eb ^
		uint64(k.dup*1e9) ^ uint64(k.order)<<56
	pcg.Seed(uint64(k.seed), h)
	r := rand.New(&pcg)
	var list []int64
	if k.fixed != 0 {
		list = slices.Clone(classicLists[k.fixed])
	} else {
		list = make([]int64, k.n)
		d := int(k.dup*float64(k.n) + 0.5)
		if d >= k.n {
			d = max(k.n-1, 0)
		}
		span := uint64(k.max-k.min) + 1 // 0 means the whole int64 range
		for i := range k.n - d {
			if span == 0 {
				list[i] = int64(r.Uint64())
			} else {
				list[i] = k.min + int64(r.Uint64N(span))
			}
		}
		for i := k.n - d; i < k.n; i++ {
			list[i] = list[r.IntN(k.n-d)]
		}
	}
	switch k.order {
	case orderAsc:
		slices.Sort(list)
	case orderDesc:
		slices.Sort(list)
		slices.Reverse(list)
	case orderRandom:
		r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	case orderDefault:
		if k.fixed == 0 {
			r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		}
	}
	return list
}

// jsonString renders s as a JSON string literal.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// render writes {"key":[...]} with each element produced by elem (nil: the integers themselves).
// raw, when non-nil, replaces the whole array (for null or object payloads).
func render(k *payload, list []int64, elem func([]byte, int64) []byte, raw string) []byte {
	buf := make([]byte, 0, 32+len(list)*6)
	buf = append(buf, '{')
	if k.pretty {
		buf = append(buf, "\n  "...)
	}
	buf = append(buf, jsonString(k.key)...)
	buf = append(buf, ':')
	if k.pretty {
		buf = append(buf, ' ')
	}
	switch {
	case raw != "":
		buf = append(buf, raw...)
	case len(list) == 0:
		buf = append(buf, "[]"...)
	default:
		buf = append(buf, '[')
		for i, v := range list {
			if i > 0 {
				buf = append(buf, ',')
			}
			if k.pretty {
				buf = append(buf, "\n    "...)
			}
			if elem != nil {
				buf = elem(buf, v)
			} else {
				buf = strconv.AppendInt(buf, v, 10)
			}
		}
		if k.pretty {
			buf = append(buf, "\n  "...)
		}
		buf = append(buf, ']')
	}
	if k.pretty {
		buf = append(buf, '\n')
	}
	return append(buf, '}')
}

// Bounds of the rendered-body cache.
const (
	cacheMaxEntries = 1024
	cacheMaxBody    = 1 << 20
	cacheMaxBytes   = 64 << 20
)

// bodyCache maps payload keys to rendered bodies. Reads are lock-free (an immutable map behind an
// atomic pointer); inserts copy the map under a mutex, which is cheap because it is small and
// inserts stop once it is full.
type bodyCache struct {
	m     atomic.Pointer[map[payload][]byte]
	mu    sync.Mutex
	bytes int
}

func (c *bodyCache) get(k *payload) []byte {
	if m := c.m.Load(); m != nil {
		if b, ok := (*m)[*k]; ok {
			return b
		}
	}
	b := render(k, k.numbers(), nil, "")
	if len(b) <= cacheMaxBody {
		c.put(k, b)
	}
	return b
}

func (c *bodyCache) put(k *payload, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var n int
	if old != nil {
		n = len(*old)
	}
	if n >= cacheMaxEntries || c.bytes+len(b) > cacheMaxBytes {
		return
	}
	m := make(map[payload][]byte, n+1)
	if old != nil {
		for kk, v := range *old {
			m[kk] = v
		}
	}
	if _, dup := m[*k]; !dup {
		c.bytes += len(b)
	}
	m[*k] = b
	c.m.Store(&m)
}

// wrongBody renders the payload of mode=wrongtype.
func wrongBody(k *payload, t wrongType) []byte {
	list := k.numbers()
	switch t {
	case typeFloat:
		return render(k, list, func(b []byte, v int64) []byte { return append(strconv.AppendInt(b, v, 10), ".5"...) }, "")
	case typeNull:
		return render(k, nil, nil, "null")
	case typeOverflow:
		if len(list) == 0 {
			list = []int64{0}
		}
		return render(k, list, func(b []byte, v int64) []byte {
			if v == list[0] {
				return append(b, "9223372036854775808"...)
			}
			return strconv.AppendInt(b, v, 10)
		}, "")
	case typeObject:
		return render(k, nil, nil, `{"count":`+strconv.Itoa(len(list))+`}`)
	default:
		return render(k, list, func(b []byte, v int64) []byte {
			return append(strconv.AppendInt(append(b, '"'), v, 10), '"')
		}, "")
	}
}

// malformedBody returns body with a trailing comma inside its array, which no JSON parser accepts.
func malformedBody(body []byte) []byte {
	i := len(body) - 1
	for i >= 0 && body[i] != ']' {
		i--
	}
	if i < 0 {
		return append(body[:len(body):len(body)], ',')
	}
	out := make([]byte, 0, len(body)+1)
	out = append(out, body[:i]...)
	out = append(out, ',')
	return append(out, body[i:]...)
}

// ClassicList returns the fixed list a classic route ("/primes", "/fibo",
// "/odd", "/rand") serves, and false for any other path. The caller owns
// the returned slice.
func ClassicList(path string) ([]int64, bool) {
	p, ok := Classic(path)
	if !ok {
		return nil, false
	}
	return append([]int64(nil), classicLists[p.fixed]...), true
}
