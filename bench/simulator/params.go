// params.go parses the query parameters that shape one simulated response.

package simulator

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrBadParam reports an unknown or malformed query parameter; the HTTP answer is 400.
var ErrBadParam = errors.New("simulator: bad parameter")

// Limits on parameter values, so that no request can ask for the impossible.
const (
	// MaxN is the largest accepted `n`.
	MaxN = 10_000_000
	// MaxDuration bounds every duration parameter (and every sampled delay).
	MaxDuration = time.Hour
	// MaxShift bounds the signed `expires` and `date` offsets (about 11 years).
	MaxShift = 100_000 * time.Hour
	// MaxSize bounds `size` for mode=huge.
	MaxSize = 64 << 30
	// MaxHops bounds `hops` for mode=redirect.
	MaxHops   = 100
	maxKeyLen = 256
	maxCCLen  = 1024
)

type order uint8

const (
	orderDefault order = iota // random for generated lists, as listed for the classic ones
	orderAsc
	orderDesc
	orderRandom
)

var orderNames = [...]string{"", "asc", "desc", "random"} // orderDefault has no name

type dist uint8

const (
	distFixed dist = iota
	distUniform
	distLognormal
	distPareto
)

var distNames = [...]string{"fixed", "uniform", "lognormal", "pareto"}

type mode uint8

const (
	modeNone mode = iota
	modeReset
	modeHang
	modeTrickle
	modeTruncate
	modeMalformed
	modeWrongType
	modeHuge
	modeRedirect
	modeLoop
	modeHTML
	modeStall
)

var modeNames = [...]string{"none", "reset", "hang", "trickle", "truncate", "malformed", "wrongtype", "huge", "redirect", "loop", "html", "stall"}

type wrongType uint8

const (
	typeString wrongType = iota
	typeFloat
	typeNull
	typeOverflow
	typeObject
)

var typeNames = [...]string{"string", "float", "null", "overflow", "object"}

// parseName returns the index of the non-empty name v in names, as a T.
func parseName[T ~uint8](v []byte, names []string) (T, error) {
	for i, name := range names {
		if name != "" && string(v) == name {
			return T(i), nil
		}
	}
	var named []string
	for _, n := range names {
		if n != "" {
			named = append(named, n)
		}
	}
	return 0, errors.New("want one of " + strings.Join(named, ", "))
}

// Params is the behaviour of one endpoint or one request: payload, latency, failure and caching
// headers. Build it with ParseParams from a query string such as "dist=lognormal&p50=100ms&p99=900ms".
// The zero Params behaves like ParseParams(""): the /numbers defaults (20 numbers in 0..1000 under
// the key "numbers", instant, never failing).
type Params struct {
	valid bool // false only for the zero value

	payload      // what the body holds
	hasSeed bool // seed was given; otherwise the server's seed applies

	// latency
	dist          dist
	delay, lo, hi time.Duration
	p50, p99      time.Duration

	// failure
	fail   float64
	status int
	mode   mode
	prob   float64 // probability that mode applies
	every  time.Duration
	stall  time.Duration // mode=stall: how long the answer is held back
	types  wrongType
	size   int64
	hops   int

	// caching
	cc                  string
	expires, date       time.Duration
	hasExpires, hasDate bool
	age                 int
	hasAge              bool
}

func defaultParams() Params {
	return Params{valid: true, payload: payload{n: 20, max: 1000, key: "numbers"}, status: 503, prob: 1,
		every: 50 * time.Millisecond, stall: 2 * time.Second, size: 50_000_000, hops: 1}
}

// ParseParams parses a query string (with or without a leading '?') onto the /numbers defaults.
// Errors wrap ErrBadParam.
func ParseParams(query string) (Params, error) {
	p := defaultParams()
	var a fasthttp.Args
	a.Parse(strings.TrimPrefix(query, "?"))
	if err := p.apply(&a); err != nil {
		return Params{}, err
	}
	return p, nil
}

func badParam(k, v []byte, why string) error {
	return fmt.Errorf("%w: %s=%q: %s", ErrBadParam, k, v, why)
}

// apply overrides p with the arguments in a, in order, then checks the result as a whole.
func (p *Params) apply(a *fasthttp.Args) error {
	if !p.valid {
		*p = defaultParams()
	}
	var sawDelay, sawDist bool
	for k, v := range a.All() {
		var err error
		switch string(k) {
		case "n":
			var n int64
			n, err = parseInt(v, 0, MaxN)
			p.n, p.fixed = int(n), 0
		case "min":
			p.min, err = parseInt(v, math.MinInt64, math.MaxInt64)
			p.fixed = 0
		case "max":
			p.max, err = parseInt(v, math.MinInt64, math.MaxInt64)
			p.fixed = 0
		case "dup":
			p.dup, err = parseFraction(v)
			p.fixed = 0
		case "order":
			p.order, err = parseName[order](v, orderNames[:])
		case "pretty":
			p.pretty, err = parseBool(v)
		case "key":
			if len(v) == 0 || len(v) > maxKeyLen {
				return badParam(k, v, "want 1 to 256 bytes")
			}
			if string(v) != p.key {
				p.key = string(v)
			}
		case "seed":
			p.seed, err = parseInt(v, math.MinInt64, math.MaxInt64)
			p.hasSeed = true
		case "delay":
			p.delay, err = parseDuration(v, false)
			p.dist, sawDelay = distFixed, true
		case "dist":
			sawDist = true
			p.dist, err = parseName[dist](v, distNames[:])
		case "lo":
			p.lo, err = parseDuration(v, false)
		case "hi":
			p.hi, err = parseDuration(v, false)
		case "p50":
			p.p50, err = parseDuration(v, false)
		case "p99":
			p.p99, err = parseDuration(v, false)
		case "fail":
			p.fail, err = parseFraction(v)
		case "p":
			p.prob, err = parseFraction(v)
		case "status":
			var st int64
			st, err = parseInt(v, 100, 599)
			p.status = int(st)
		case "mode":
			p.mode, err = parseName[mode](v, modeNames[:])
		case "every":
			p.every, err = parseDuration(v, false)
			if err == nil && p.every <= 0 {
				err = errors.New("must be positive")
			}
		case "stall":
			p.stall, err = parseDuration(v, false)
		case "types":
			p.types, err = parseName[wrongType](v, typeNames[:])
		case "size":
			p.size, err = parseSize(v)
		case "hops":
			var h int64
			h, err = parseInt(v, 0, MaxHops)
			p.hops = int(h)
		case "cc":
			if len(v) > maxCCLen || !printable(v) {
				return badParam(k, v, "want at most 1024 printable ASCII characters")
			}
			p.cc = string(v)
		case "expires":
			p.expires, err = parseDuration(v, true)
			p.hasExpires = true
		case "age":
			var age int64
			age, err = parseInt(v, 0, math.MaxInt32)
			p.age, p.hasAge = int(age), true
		case "date":
			p.date, err = parseDuration(v, true)
			p.hasDate = true
		case "nonce":
			// Accepted and ignored: a client makes each URL distinct (for the
			// service's cache and coalescing) without changing the response.
			// Unlike seed it fixes neither the payload nor the draws.
		default:
			return fmt.Errorf("%w: unknown parameter %q", ErrBadParam, k)
		}
		if err != nil {
			return badParam(k, v, err.Error())
		}
	}
	if sawDelay && sawDist && p.dist != distFixed {
		return fmt.Errorf("%w: delay and dist=%s are exclusive", ErrBadParam, a.Peek("dist"))
	}
	return p.check()
}

// check validates the combination of parameters.
func (p *Params) check() error {
	if p.min > p.max {
		return fmt.Errorf("%w: min %d > max %d", ErrBadParam, p.min, p.max)
	}
	switch p.dist {
	case distUniform:
		if p.lo > p.hi {
			return fmt.Errorf("%w: dist=uniform needs lo <= hi, got lo=%v hi=%v", ErrBadParam, p.lo, p.hi)
		}
	case distLognormal, distPareto:
		if p.p50 <= 0 || p.p99 <= p.p50 {
			return fmt.Errorf("%w: long-tailed dist needs 0 < p50 < p99, got p50=%v p99=%v", ErrBadParam, p.p50, p.p99)
		}
	}
	return nil
}
