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
	case ScenarioClassic, ScenarioClassicDistinct:
		return []string{u + "/primes", u + "/fibo", u + "/odd", u + "/rand"}
	case ScenarioLongTail:
		return four("/numbers?dist=lognormal&p50=100ms&p99=1500ms&max=100%d")
	case ScenarioHostile:
		return []string{u + "/numbers?max=1000", u + "/numbers?mode=hang", u + "/numbers?mode=trickle", u + "/numbers?mode=huge&size=50MB"}
	case ScenarioBig:
		return four("/numbers?n=100000&max=100000000%d")
	case ScenarioCPUOverload:
		return four("/numbers?n=20000&max=100000000%d")
	case ScenarioDeadHost, ScenarioHealing, ScenarioStall:
		return s.healthUpstreams(scenario)
	case ScenarioSoak:
		// A classic upstream, and three that answer 1,000 numbers within
		// 200 ms but one time in 33 hang, trickle or send 50 MB instead: at
		// 1,500 req/s about 45 a second of each, as many as the hostile
		// scenario's 50, mixed into a load the service should carry.
		const mixed = "/numbers?n=1000&max=1000000&dist=uniform&lo=0&hi=200ms&p=0.03&mode="
		return []string{u + "/primes", u + mixed + "hang", u + mixed + "trickle", u + mixed + "huge&size=50MB"}
	}
	return four("/numbers?n=20&max=100%d") // capacity, overload: instant
}

// distinct says whether a scenario gives every request upstream URLs of its
// own (Attack.Distinct), so that the service coalesces and caches nothing
// between requests, as with callers whose URLs differ.
func distinct(scenario string) bool {
	switch scenario {
	case ScenarioClassicDistinct, ScenarioCPUOverload, ScenarioSoak, ScenarioDeadHost, ScenarioHealing, ScenarioStall:
		return true
	}
	return false
}

// serviceOnly says whether a scenario runs against the first target only:
// its targets concern the service alone, and the baseline, which never sheds
// load, would be swamped for minutes.
func serviceOnly(scenario string) bool {
	return scenario == ScenarioCPUOverload || scenario == ScenarioSoak
}

// held says whether a capacity step kept up.
func held(r *Result) bool {
	return r.ErrorCount() == 0 && r.Latency.P99 <= float64(capacityP99)/float64(time.Millisecond) &&
		r.Responses == r.Requests
}

// runFunc runs one attack of the current scenario and target.
type runFunc func(label string, p Pacer, d time.Duration) (*Result, error)

func (s *Suite) scenario(ctx context.Context, name string, t Target, sum *Summary) error {
	u := numbersURL(t.URL, s.upstreams(name))
	run := func(label string, p Pacer, d time.Duration) (*Result, error) {
		return s.attack(ctx, sum, name, t, Attack{Name: label, URL: u, Pacer: p, Duration: d, Distinct: distinct(name)})
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
	case ScenarioClassicDistinct:
		for _, r := range []float64{500, 1000, 2000, 3000} {
			if _, err := run(fmt.Sprintf("classic-distinct@%g", r), ConstantPacer{Freq: r}, s.dur(5*time.Second)); err != nil {
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
	case ScenarioCPUOverload:
		return s.cpuOverload(ctx, t, sum, run)
	case ScenarioSoak:
		return s.soak(ctx, t, sum, run)
	case ScenarioDeadHost, ScenarioHealing, ScenarioStall, ScenarioFlood:
		return s.healthScenario(ctx, name, t, sum, run)
	}
	return nil
}

// capacity finds the capacity for 4 instant upstreams: 500 req/s doubling,
// then two bisection steps rounded to 50.
func (s *Suite) capacity(ctx context.Context, t Target, sum *Summary, run runFunc) error {
	good, failed, err := s.search(ctx, "capacity", []float64{500, 1000, 2000, 4000, 8000, 16000, 32000}, 50, run)
	if err != nil {
		return err
	}
	sum.Capacity[t.Name] = good
	if !failed {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s capacity: held every step up to %g/s; the figure is a floor", t.Name, good))
	}
	return nil
}

// search steps the rate up through steps (labelled label@rate) until a step
// fails, then bisects twice between the last step that held and the first
// that failed, rounding to unit. It returns the highest rate that held (0 when
// none did) and whether any step failed. Quick runs the first three steps
// and does not bisect.
func (s *Suite) search(ctx context.Context, label string, steps []float64, unit float64, run runFunc) (good float64, failed bool, err error) {
	bisect := 2
	if s.Quick {
		steps, bisect = steps[:min(3, len(steps))], 0
	}
	d := s.dur(2 * time.Second)
	bad := 0.0
	for _, r := range steps {
		res, err := run(fmt.Sprintf("%s@%g", label, r), ConstantPacer{Freq: r}, d)
		if err != nil {
			return 0, false, err
		}
		if !held(res) {
			bad = r
			break
		}
		good = r
	}
	for i := 0; i < bisect && bad > 0 && ctx.Err() == nil; i++ {
		mid := math.Round((good+bad)/2/unit) * unit
		if mid <= good || mid >= bad {
			break
		}
		res, err := run(fmt.Sprintf("%s@%g", label, mid), ConstantPacer{Freq: mid}, d)
		if err != nil {
			return 0, false, err
		}
		if held(res) {
			good = mid
		} else {
			bad = mid
		}
	}
	return good, bad > 0, nil
}
