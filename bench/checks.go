package bench

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The project's performance targets.
const (
	wantRatio      = 5.0
	wantP99At1000  = 5 * time.Millisecond
	classicShare   = 0.8  // classic is checked at rates up to this share of capacity
	completeSlack  = 0.02 // completeness may fall this far below the limit (sampling noise)
	classicMaxWait = 550 * time.Millisecond
	// wantFreshDistinct is the fresh completeness (ok+cached) wanted of
	// classic-distinct at every rate, past the capacity too, for the answers taken.
	wantFreshDistinct = 0.78
	// recoveryWithin: after an overload, no request due later than this into
	// the recovery step may fail ("no errors within 1 s").
	recoveryWithin = time.Second
	// memoryGrowth bounds the soak's RSS at the end, relative to half-way.
	memoryGrowth = 1.25
)

// CompletenessLimit is the best completeness physically possible in a
// scenario with the given budget: the share of upstreams that can answer in
// time. ok is false for scenarios without a known limit.
func CompletenessLimit(scenario string, budget time.Duration) (limit float64, ok bool) {
	switch scenario {
	case ScenarioClassic, ScenarioClassicDistinct:
		// 1 in 10 fails; delays are uniform over 0-550ms, and the service
		// keeps a few milliseconds of its budget to write the answer.
		usable := (budget - 5*time.Millisecond).Seconds() / classicMaxWait.Seconds()
		return 0.9 * math.Min(1, math.Max(0, usable)), true
	case ScenarioLongTail:
		// Log-normal with p50 100ms and p99 1500ms: sigma = ln(15)/z(0.99).
		sigma := math.Log(15) / 2.326348
		z := math.Log(budget.Seconds()/0.1) / sigma
		return 0.5 * math.Erfc(-z/math.Sqrt2), true
	case ScenarioHostile:
		return 0.25, true // only the instant upstream can answer
	case ScenarioCapacity, ScenarioOverload, ScenarioBig, ScenarioCPUOverload:
		return 1, true
	}
	return 0, false
}

func (s *Suite) find(sum *Summary, target, name string) *Result {
	for _, r := range sum.Runs {
		if r.Target == target && r.Result.Name == name {
			return r.Result
		}
	}
	return nil
}

// check turns the runs into the targets.
func (s *Suite) check(sum *Summary) {
	if len(s.Targets) == 0 {
		return
	}
	svc := s.Targets[0].Name
	add := func(name, want, got string, pass bool) {
		sum.Checks = append(sum.Checks, Check{Target: svc, Name: name, Want: want, Got: got, Pass: pass})
	}
	capSvc, ok := sum.Capacity[svc]
	if ok && len(s.Targets) > 1 {
		base := s.Targets[1].Name
		capBase := sum.Capacity[base]
		ratio := math.Inf(1)
		if capBase > 0 {
			ratio = capSvc / capBase
		}
		add("capacity, 4 instant upstreams", fmt.Sprintf(">= %gx %s", wantRatio, base),
			fmt.Sprintf("%s %g/s, %s %g/s: %.1fx", svc, capSvc, base, capBase, ratio), ratio >= wantRatio)
	}
	if r := s.find(sum, svc, "capacity@1000"); r != nil {
		want := float64(wantP99At1000) / float64(time.Millisecond)
		add("p99 at 1000/s, instant upstreams", fmt.Sprintf("< %g ms", want), fmt.Sprintf("%.2f ms", r.Latency.P99), r.Latency.P99 < want)
	}
	budget := s.budget()
	for _, rec := range sum.Runs {
		r := rec.Result
		if rec.Target != svc {
			continue
		}
		switch rec.Scenario {
		case ScenarioClassic:
			if ok && r.Rate > classicShare*capSvc {
				continue
			}
			limit, _ := CompletenessLimit(ScenarioClassic, budget)
			add(r.Name, fmt.Sprintf("0 late, completeness >= %.3f", limit-completeSlack),
				fmt.Sprintf("%s, completeness %.3f", lateText(r), r.Completeness),
				r.Late == 0 && r.Completeness >= limit-completeSlack)
		case ScenarioLongTail, ScenarioHostile, ScenarioBig:
			add(r.Name, "0 late", fmt.Sprintf("%s, max %.1f ms", lateText(r), r.Latency.Max), r.Late == 0)
		case ScenarioClassicDistinct, ScenarioCPUOverload, ScenarioSoak:
			s.checkNew(sum, rec, add)
		case ScenarioDeadHost, ScenarioHealing, ScenarioStall, ScenarioFlood:
			s.checkHealth(rec, add)
		case ScenarioOverload:
			if strings.HasPrefix(r.Name, "overload") {
				add(r.Name, "0 late (shed with 503 if need be)",
					fmt.Sprintf("%s, %d shed (503), max %.1f ms", lateText(r), r.Status[503], r.Latency.Max), r.Late == 0)
			} else {
				add(r.Name, fmt.Sprintf("recovers: no errors after %v, p99 <= 50 ms", recoveryWithin),
					fmt.Sprintf("%s, p99 %.2f ms", recoveryText(r), r.Latency.P99),
					recovered(r) && r.Latency.P99 <= float64(capacityP99)/float64(time.Millisecond))
			}
		}
	}
}

// lateText is a run's late answers, counted three ways.
func lateText(r *Result) string {
	return fmt.Sprintf("%d late (%d from actual send, %d by Server-Timing)", r.Late, r.LateSent, r.ServerLate)
}

// recovered says whether a recovery step failed no request due later than
// recoveryWithin into it.
func recovered(r *Result) bool {
	return r.ErrorCount() == 0 || r.ErrorFreeAfterS <= recoveryWithin.Seconds()
}

// recoveryText is a recovery step's failures and when the last was due.
func recoveryText(r *Result) string {
	return fmt.Sprintf("%d errors, the last due at %.2f s", r.ErrorCount(), r.ErrorFreeAfterS)
}

// onTime says whether no answer was late, at the caller or by the service's clock.
func onTime(r *Result) bool { return r.Late == 0 && r.ServerLate == 0 }

// otherErrors counts the failures that are not 503s.
func otherErrors(r *Result) uint64 { return r.ErrorCount() - r.Errors[statusKind(503)] }

// shedText is a run's completeness and failures: 503s apart, the rest together.
func shedText(r *Result) string {
	return fmt.Sprintf("completeness %.3f, %d shed (503), %d other errors", r.Completeness, r.Errors[statusKind(503)], otherErrors(r))
}

// checkNew adds the targets of the scenarios that show lateness for the
// caller: classic-distinct, the CPU-bound overload and the soak.
func (s *Suite) checkNew(sum *Summary, rec Record, add func(name, want, got string, pass bool)) {
	r := rec.Result
	switch rec.Scenario {
	case ScenarioClassicDistinct:
		add(r.Name, fmt.Sprintf("0 late, completeness >= %.2f, failures only 503", wantFreshDistinct),
			lateText(r)+", "+shedText(r), onTime(r) && r.Completeness >= wantFreshDistinct && otherErrors(r) == 0)
	case ScenarioCPUOverload:
		c := sum.Capacity[rec.Target+" "+ScenarioCPUOverload]
		switch {
		case strings.HasPrefix(r.Name, "cpu-overload-"):
			// As complete as at capacity: the held step at the capacity found.
			atCap, _ := CompletenessLimit(ScenarioCPUOverload, s.budget())
			if cr := s.find(sum, rec.Target, fmt.Sprintf("cpu-capacity@%g", c)); cr != nil {
				atCap = cr.Completeness
			}
			add(r.Name, fmt.Sprintf("0 late (503s fine), completeness >= %.3f, failures only 503", atCap-completeSlack),
				lateText(r)+", "+shedText(r), onTime(r) && r.Completeness >= atCap-completeSlack && otherErrors(r) == 0)
			if top := fmt.Sprintf("cpu-overload-%gx@", cpuOverloads[len(cpuOverloads)-1]); strings.HasPrefix(r.Name, top) {
				add(r.Name+" goodput", fmt.Sprintf(">= %g/s on time (half the capacity, %g/s)", c/2, c),
					fmt.Sprintf("%.0f/s on time, %.0f/s answered", r.Goodput, r.Throughput), r.Goodput >= c/2)
			}
		case strings.HasPrefix(r.Name, "cpu-recovery"):
			add(r.Name, fmt.Sprintf("no errors after %v, 0 late", recoveryWithin),
				recoveryText(r)+"; "+lateText(r), recovered(r) && r.Late == 0)
		}
	case ScenarioSoak:
		add(r.Name, "0 late, at the caller and by the service's clock",
			fmt.Sprintf("%s, max %.1f ms, %s", lateText(r), r.Latency.Max, shedText(r)), onTime(r))
		want := fmt.Sprintf("memory flat: RSS at the end <= %gx half-way", memoryGrowth)
		m := rec.Memory
		if m == nil {
			add(r.Name+" memory", want, "not sampled (see the notes)", false)
			return
		}
		add(r.Name+" memory", want, fmt.Sprintf("RSS %s MiB, goroutines %s (start, half-way, end, settled)", m.rss(), m.goroutines()),
			m.End.RSSBytes <= memoryGrowth*m.Mid.RSSBytes)
	}
}
