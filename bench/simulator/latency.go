// latency.go draws per-request random decisions: delays and whether to fail.

package simulator

import (
	"math"
	"math/rand/v2"
	"time"
)

// rng is a per-request random source. Seeded, it is a PCG private to the request (no shared state);
// unseeded, it uses the runtime's per-thread generator. Neither takes a lock.
type rng struct {
	pcg    rand.PCG
	seeded bool
}

func (r *rng) uint64() uint64 {
	if r.seeded {
		return r.pcg.Uint64()
	}
	return rand.Uint64()
}

// float64 returns a uniform number in [0, 1).
func (r *rng) float64() float64 { return float64(r.uint64()>>11) / (1 << 53) }

// norm returns a standard normal number (Box-Muller).
func (r *rng) norm() float64 {
	u1 := 1 - r.float64() // (0, 1]
	u2 := r.float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// z99 is the 0.99 quantile of the standard normal distribution.
const z99 = 2.3263478740408408

// sampleDelay draws the response delay for p.
func (p *Params) sampleDelay(r *rng) time.Duration {
	var d float64
	switch p.dist {
	case distFixed:
		return p.delay
	case distUniform:
		d = float64(p.lo) + r.float64()*float64(p.hi-p.lo)
	case distLognormal:
		// ln(X) ~ N(mu, sigma) with exp(mu) = p50 and exp(mu + z99*sigma) = p99.
		mu := math.Log(float64(p.p50))
		sigma := (math.Log(float64(p.p99)) - mu) / z99
		d = math.Exp(mu + sigma*r.norm())
	case distPareto:
		// Quantile Q(q) = xm * (1-q)^(-1/alpha): Q(.99)/Q(.5) = 50^(1/alpha).
		alpha := math.Log(50) / math.Log(float64(p.p99)/float64(p.p50))
		xm := float64(p.p50) / math.Pow(2, 1/alpha)
		d = xm * math.Pow(1-r.float64(), -1/alpha)
	}
	if !(d < float64(MaxDuration)) { // also NaN
		return MaxDuration
	}
	return time.Duration(d)
}

// needsRand reports whether serving p draws any random number.
func (p *Params) needsRand() bool {
	return p.dist != distFixed || p.fail > 0 || (p.mode != modeNone && p.prob < 1)
}

// sleep waits d or until the server shuts down; it reports whether the full delay elapsed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
