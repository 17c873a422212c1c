package bench

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Capacity search: a step holds when its p99 is within capacityP99 and
// nothing failed.
const capacityP99 = 50 * time.Millisecond

// upstreams returns the scenario's four distinct upstream URLs. A harmless
// parameter (max) tells them apart so that de-duplication does not fold them;
// seed is not used because it would also fix each URL's latency draw.
func (s *Suite) upstreams(scenario string) []string {
	u := s.Upstream
	four := func(format string) []string {
		out := make([]string, 4)
		for i := range out {
			out[i] = u + fmt.Sprintf(format, i)
		}
		return out
	}
	switch scenario {
	case ScenarioClassic:
		return []string{u + "/primes", u + "/fibo", u + "/odd", u + "/rand"}
	case ScenarioLongTail:
		return four("/numbers?dist=lognormal&p50=100ms&p99=1500ms&max=100%d")
	case ScenarioHostile:
		return []string{u + "/numbers?max=1000", u + "/numbers?mode=hang", u + "/numbers?mode=trickle", u + "/numbers?mode=huge&size=50MB"}
	case ScenarioBig:
		return four("/numbers?n=100000&max=100000000%d")
	}
	return four("/numbers?n=20&max=100%d") // capacity, overload: instant
}

// held says whether a capacity step kept up.
func held(r *Result) bool {
	return r.ErrorCount() == 0 && r.Latency.P99 <= float64(capacityP99)/float64(time.Millisecond) &&
		r.Responses == r.Requests
}

func (s *Suite) scenario(ctx context.Context, name string, t Target, sum *Summary) error {
	u := numbersURL(t.URL, s.upstreams(name))
	run := func(label string, p Pacer, d time.Duration) (*Result, error) {
		return s.attack(ctx, sum, name, t, label, u, p, d)
	}
	switch name {
	case ScenarioCapacity:
		return s.capacity(ctx, t, sum, run)
	case ScenarioClassic:
		rates := []float64{100, 500, 1000, 2000}
		if s.Quick {
			rates = rates[:2]
		}
		for _, r := range rates {
			if _, err := run(fmt.Sprintf("classic@%g", r), ConstantPacer{Freq: r}, s.dur(2500*time.Millisecond)); err != nil {
				return err
			}
		}
	case ScenarioLongTail:
		_, err := run("longtail@200", ConstantPacer{Freq: 200}, s.dur(3*time.Second))
		return err
	case ScenarioHostile:
		_, err := run("hostile@50", ConstantPacer{Freq: 50}, s.dur(3*time.Second))
		return err
	case ScenarioBig:
		_, err := run("big@10", ConstantPacer{Freq: 10}, s.dur(3*time.Second))
		return err
	case ScenarioOverload:
		c := sum.Capacity[t.Name]
		if c <= 0 {
			c = 250
		}
		if _, err := run(fmt.Sprintf("overload@%g", 2*c), ConstantPacer{Freq: 2 * c}, s.dur(3*time.Second)); err != nil {
			return err
		}
		_, err := run(fmt.Sprintf("recovery@%g", c/2), ConstantPacer{Freq: c / 2}, s.dur(3*time.Second))
		return err
	}
	return nil
}

// capacity steps the rate up (doubling) until a step fails, then bisects
// twice between the last step that held and the first that failed.
func (s *Suite) capacity(ctx context.Context, t Target, sum *Summary, run func(string, Pacer, time.Duration) (*Result, error)) error {
	steps := []float64{500, 1000, 2000, 4000, 8000, 16000, 32000}
	bisect := 2
	if s.Quick {
		steps, bisect = steps[:3], 0
	}
	d := s.dur(2 * time.Second)
	good, bad := 0.0, 0.0
	for _, r := range steps {
		res, err := run(fmt.Sprintf("capacity@%g", r), ConstantPacer{Freq: r}, d)
		if err != nil {
			return err
		}
		if !held(res) {
			bad = r
			break
		}
		good = r
	}
	for i := 0; i < bisect && bad > 0 && ctx.Err() == nil; i++ {
		mid := math.Round((good+bad)/2/50) * 50
		if mid <= good || mid >= bad {
			break
		}
		res, err := run(fmt.Sprintf("capacity@%g", mid), ConstantPacer{Freq: mid}, d)
		if err != nil {
			return err
		}
		if held(res) {
			good = mid
		} else {
			bad = mid
		}
	}
	sum.Capacity[t.Name] = good
	if bad == 0 {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s capacity: held every step up to %g/s; the figure is a floor", t.Name, good))
	}
	return nil
}
