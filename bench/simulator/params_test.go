package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestSampleDelay(t *testing.T) {
	cases := []struct {
		name, query string
		p50, p99    time.Duration
	}{
		{"lognormal", "dist=lognormal&p50=100ms&p99=900ms", 100 * time.Millisecond, 900 * time.Millisecond},
		{"pareto", "dist=pareto&p50=20ms&p99=400ms", 20 * time.Millisecond, 400 * time.Millisecond},
		{"uniform", "dist=uniform&lo=10ms&hi=30ms", 20 * time.Millisecond, 29800 * time.Microsecond},
		{"fixed", "delay=7ms", 7 * time.Millisecond, 7 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParams(t, tc.query)
			r := rng{seeded: true}
			r.pcg.Seed(1, 2)
			const n = 20000
			ds := make([]time.Duration, n)
			for i := range ds {
				ds[i] = p.sampleDelay(&r)
			}
			slices.Sort(ds)
			near := func(got, want time.Duration) bool {
				return float64(got) >= 0.9*float64(want) && float64(got) <= 1.1*float64(want)
			}
			if !near(ds[n/2], tc.p50) || !near(ds[n*99/100], tc.p99) {
				t.Errorf("p50 %v p99 %v, want %v %v", ds[n/2], ds[n*99/100], tc.p50, tc.p99)
			}
		})
	}
}

func TestHugeReader(t *testing.T) {
	for size := int64(0); size < 64; size++ {
		b, err := io.ReadAll(newHugeReader("numbers", size))
		if err != nil || !json.Valid(b) || (size >= 16 && int64(len(b)) != size) {
			t.Fatalf("size %d: %q %v", size, b, err)
		}
		if hr := newHugeReader("numbers", size); hr.total != int64(len(b)) {
			t.Fatalf("size %d: total %d, produced %d", size, hr.total, len(b))
		}
	}
	// Tiny reads (as from a nearly full buffer) still make progress.
	hr := newHugeReader("k", 1000)
	var out []byte
	one := make([]byte, 1)
	for {
		n, err := hr.Read(one)
		out = append(out, one[:n]...)
		if err == io.EOF {
			break
		}
	}
	if len(out) != 1000 || !json.Valid(out) {
		t.Errorf("byte-wise: %d bytes, valid %v", len(out), json.Valid(out))
	}
}

func TestParseParamsErrors(t *testing.T) {
	for _, q := range []string{"x=1", "n=", "n=1e3", "dup=2", "order=", "age=-1", "hops=101", "status=600"} {
		if _, err := ParseParams(q); !errors.Is(err, ErrBadParam) {
			t.Errorf("%q: %v, want ErrBadParam", q, err)
		}
	}
	p, err := ParseParams("?n=5&max=9")
	if err != nil || p.n != 5 || p.max != 9 || p.key != "numbers" {
		t.Errorf("got %+v %v", p, err)
	}
}

// TestNonceIsNoOp checks that nonce leaves every behaviour as it was, on the /numbers defaults and
// on a classic route's: above all it does not fix the draws, as seed would.
func TestNonceIsNoOp(t *testing.T) {
	for _, q := range []string{"", "dist=uniform&lo=0&hi=1s&fail=0.1&mode=hang&p=0.5"} {
		for _, nonce := range []string{"nonce=1", "nonce=k2x9f-17", "nonce=", "nonce=a&nonce=b"} {
			if got, want := mustParams(t, q+"&"+nonce), mustParams(t, q); got != want || got.hasSeed {
				t.Errorf("%q with %q: %+v, want %+v", q, nonce, got, want)
			}
		}
	}
	classic, _ := Classic("/primes")
	p := classic
	var a fasthttp.Args
	a.Parse("nonce=42")
	if err := p.apply(&a); err != nil || p != classic {
		t.Errorf("/primes with a nonce: %+v %v, want %+v", p, err, classic)
	}
}

var known = map[string]bool{"n": true, "min": true, "max": true, "dup": true, "order": true, "pretty": true,
	"key": true, "seed": true, "delay": true, "dist": true, "lo": true, "hi": true, "p50": true, "p99": true,
	"fail": true, "p": true, "status": true, "mode": true, "every": true, "types": true, "size": true,
	"hops": true, "cc": true, "expires": true, "age": true, "date": true, "nonce": true}

// FuzzParseParams checks that no query crashes the parser, that an unknown key is always refused
// (oracle: net/url and the list of known keys), and that what parses renders a valid payload
// honouring n, min, max and order.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"", "n=5&min=-3&max=3&order=asc", "dist=pareto&p50=1ms&p99=2ms", "key=%22&pretty=1",
		"mode=huge&size=10KiB", "n=3&dup=1&order=desc", "bogus=1", "n=2&n=3", "cc=%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		p, err := ParseParams(q)
		if vals, uerr := url.ParseQuery(strings.TrimPrefix(q, "?")); uerr == nil {
			for k := range vals {
				if k != "" && !known[k] && err == nil { // fasthttp drops pairs with an empty key
					t.Fatalf("%q: unknown key %q accepted", q, k)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("%q: error %v does not wrap ErrBadParam", q, err)
			}
			return
		}
		if p.n > 200 {
			return
		}
		k := p.payloadKey(1)
		var m map[string][]int64
		if err := json.Unmarshal(render(&k, k.numbers(), nil, ""), &m); err != nil {
			t.Fatalf("%q: invalid JSON: %v", q, err)
		}
		var list []int64
		for _, l := range m {
			list = l
		}
		if len(list) != p.n {
			t.Fatalf("%q: %d numbers, want %d", q, len(list), p.n)
		}
		for _, v := range list {
			if v < p.min || v > p.max {
				t.Fatalf("%q: %d outside %d..%d", q, v, p.min, p.max)
			}
		}
		if p.order == orderAsc && !slices.IsSorted(list) {
			t.Fatalf("%q: not ascending", q)
		}
	})
}

// newCtx builds a request context for calling the handler without a network.
func newCtx(uri string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	return &ctx
}

func TestFastPathAllocs(t *testing.T) {
	s := New(Config{Seed: 1})
	h := s.handle
	for _, uri := range []string{"/numbers?n=20", "/numbers", "/primes?delay=0&fail=0"} {
		ctx := newCtx(uri)
		h(ctx) // warm the body cache
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.Reset()
			h(ctx)
		})
		if allocs != 0 || ctx.Response.StatusCode() != 200 {
			t.Errorf("%s: %v allocs/op, status %d", uri, allocs, ctx.Response.StatusCode())
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	s := New(Config{Seed: 1})
	h := s.handle
	for _, n := range []int{1, 20, 1000, 100000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			ctx := newCtx("/numbers?n=" + strconv.Itoa(n))
			h(ctx)
			b.SetBytes(int64(len(ctx.Response.Body())))
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
			}
		})
	}
}
