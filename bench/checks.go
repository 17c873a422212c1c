package bench

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Target figures from the project's issue.
const (
	wantRatio      = 5.0
	wantP99At1000  = 5 * time.Millisecond
	classicShare   = 0.8  // classic is checked at rates up to this share of capacity
	completeSlack  = 0.02 // completeness may fall this far below the limit (sampling noise)
	classicMaxWait = 550 * time.Millisecond
)

// CompletenessLimit is the best completeness physically possible in a
// scenario with the given budget: the share of upstreams that can answer in
// time. ok is false for scenarios without a known limit.
func CompletenessLimit(scenario string, budget time.Duration) (limit float64, ok bool) {
	switch scenario {
	case ScenarioClassic:
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
	case ScenarioCapacity, ScenarioOverload, ScenarioBig:
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
		sum.Checks = append(sum.Checks, Check{Name: name, Want: want, Got: got, Pass: pass})
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
				fmt.Sprintf("%d late (%d from actual send, %d by Server-Timing), completeness %.3f", r.Late, r.LateSent, r.ServerLate, r.Completeness),
				r.Late == 0 && r.Completeness >= limit-completeSlack)
		case ScenarioLongTail, ScenarioHostile, ScenarioBig:
			add(r.Name, "0 late", fmt.Sprintf("%d late (%d from actual send, %d by Server-Timing), max %.1f ms", r.Late, r.LateSent, r.ServerLate, r.Latency.Max), r.Late == 0)
		case ScenarioOverload:
			if strings.HasPrefix(r.Name, "overload") {
				add(r.Name, "0 late (shed with 503 if need be)",
					fmt.Sprintf("%d late (%d from actual send, %d by Server-Timing), %d shed (503), max %.1f ms", r.Late, r.LateSent, r.ServerLate, r.Status[503], r.Latency.Max), r.Late == 0)
			} else {
				add(r.Name, "recovers: no errors, p99 <= 50 ms",
					fmt.Sprintf("%d errors, p99 %.2f ms", r.ErrorCount(), r.Latency.P99),
					r.ErrorCount() == 0 && r.Latency.P99 <= float64(capacityP99)/float64(time.Millisecond))
			}
		}
	}
}
