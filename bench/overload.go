// overload.go is the CPU-bound overload: the service, not the generator, is
// the bottleneck.

package bench

import (
	"context"
	"fmt"
	"time"
)

// cpuSteps are the capacity search's rates for the CPU-bound workload (4
// upstreams of 20,000 numbers each), where one request costs milliseconds of
// CPU; the search bisects to cpuUnit.
var cpuSteps = []float64{25, 50, 100, 200, 400, 800, 1600, 3200}

const cpuUnit = 10

// cpuOverloads are the multiples of the capacity the overload steps run at.
var cpuOverloads = []float64{2, 4, 8}

// cpuOverload waits for the service to settle (the background fetches of
// the scenario before can take a core for seconds, and the first steps
// of the search are a few dozen requests, whose p99 is their maximum), finds
// the capacity for the CPU-bound workload (cpu-capacity@rate), then runs 2x, 4x and 8x that for 3 s each
// (cpu-overload-Nx@rate), then half the capacity (cpu-recovery@rate, at least
// 2 s even when quick), whose first second shows how fast the service
// recovers once the load drops. The capacity goes into sum.Capacity under
// "<target> cpu-overload".
func (s *Suite) cpuOverload(ctx context.Context, t Target, sum *Summary, run runFunc) error {
	if err := s.settle(ctx); err != nil {
		return err
	}
	c, failed, err := s.search(ctx, "cpu-capacity", cpuSteps, cpuUnit, run)
	if err != nil {
		return err
	}
	key := t.Name + " " + ScenarioCPUOverload
	sum.Capacity[key] = c
	switch {
	case c == 0:
		c = cpuSteps[0]
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s: no step held, not even %g/s; the overload steps take %g/s as the capacity", key, c, c))
	case !failed:
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s capacity: held every step up to %g/s; the figure is a floor", key, c))
	}
	for _, m := range cpuOverloads {
		if _, err := run(fmt.Sprintf("cpu-overload-%gx@%g", m, m*c), ConstantPacer{Freq: m * c}, s.dur(3*time.Second)); err != nil {
			return err
		}
	}
	_, err = run(fmt.Sprintf("cpu-recovery@%g", c/2), ConstantPacer{Freq: c / 2}, max(s.dur(3*time.Second), 2*time.Second))
	return err
}
