package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scenario names, in the order Suite runs them.
const (
	ScenarioCapacity        = "capacity"
	ScenarioClassic         = "classic"
	ScenarioClassicDistinct = "classic-distinct"
	ScenarioLongTail        = "longtail"
	ScenarioHostile         = "hostile"
	ScenarioBig             = "big"
	ScenarioOverload        = "overload"
	ScenarioCPUOverload     = "cpu-overload"
	ScenarioSoak            = "soak"
)

// All lists every scenario, in the order Suite runs them.
var All = []string{ScenarioCapacity, ScenarioClassic, ScenarioClassicDistinct, ScenarioLongTail, ScenarioHostile,
	ScenarioBig, ScenarioOverload, ScenarioCPUOverload, ScenarioSoak,
	ScenarioDeadHost, ScenarioHealing, ScenarioStall, ScenarioFlood}

// Standard is the scenario set that `make bench` runs first, with the service
// and the baseline each pinned to a CPU of their own (bench/cmd/bench
// -service-cpus 1): the figures per core, comparable from run to run.
var Standard = []string{ScenarioCapacity, ScenarioClassic, ScenarioClassicDistinct, ScenarioLongTail, ScenarioHostile,
	ScenarioBig, ScenarioOverload}

// StandardShared is the scenario set that `make bench` runs next, with every
// CPU shared by the service, the generator and the simulator, as on a real
// host: classic-distinct again (the same workload, for comparison with
// pinned), then the CPU-bound overload and the soak.
var StandardShared = []string{ScenarioClassicDistinct, ScenarioCPUOverload, ScenarioSoak}

// CheckNames reports the first name in names that is not a scenario, wrapping ErrScenario.
func CheckNames(names []string) error {
	for _, n := range names {
		if !slices.Contains(All, n) {
			return fmt.Errorf("%w: %q (known: %s)", ErrScenario, n, strings.Join(All, ", "))
		}
	}
	return nil
}

// ErrScenario reports an unknown scenario name.
var ErrScenario = errors.New("bench: unknown scenario")

// Target is one implementation under test.
type Target struct {
	// Name labels its runs ("service", "baseline").
	Name string
	// URL is its base URL, such as "http://127.0.0.1:8080".
	URL string
	// Admin is the base URL of its pprof endpoint; empty means no profiles.
	Admin string
}

// Suite runs scenarios against targets and checks the project's targets.
type Suite struct {
	// Targets are measured in turn for every scenario; the first is the
	// service, and ratios compare it with the second (the baseline), if any.
	Targets []Target
	// Upstream is the simulator's base URL (package simulator).
	Upstream string
	// DeadHost is the base URL of a second upstream host that accepts and
	// never answers; Flaky, of a third, whose outage SetFlakyDown starts
	// (true) and ends. The dead-host and healing scenarios need them.
	DeadHost, Flaky string
	SetFlakyDown    func(down bool)
	// Scenarios to run, from All; nil means Standard. Overload needs capacity
	// and runs it if missing. CPU-overload and soak run against the first
	// target only (see serviceOnly).
	Scenarios []string
	// Quick shortens every run to a smoke test of a few seconds in all.
	Quick bool
	// SoakDuration is the soak's length; zero means 60s, or 5s when Quick.
	SoakDuration time.Duration
	// Budget is the service's budget, the lateness threshold; zero means DefaultBudget.
	Budget time.Duration
	// CallerSlack is every attack's Attack.CallerSlack: when positive, the
	// generator sends its own deadline (grpc-timeout) less this much.
	CallerSlack time.Duration
	// ProfileDir, when set, receives a CPU profile of every run (of at least
	// a second) against a target with an Admin URL, and a heap profile
	// half-way through the soak.
	ProfileDir string
	// Progress, when set, receives every attack's progress.
	Progress func(Progress)
}

// Record is one attack of a suite.
type Record struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Result   *Result `json:"result"`
	// Profile is the CPU profile's path, if one was captured.
	Profile string `json:"profile,omitempty"`
	// Memory is the target's memory and goroutines around the run, when
	// sampled (the soak, against a target with an Admin URL).
	Memory *Memory `json:"memory,omitempty"`
	// UpstreamPerURL is the upstream requests the simulator served per URL
	// asked for (the stall scenario: hedges and retries included).
	UpstreamPerURL float64 `json:"upstream_per_url,omitempty"`
	// Registry is the target's health registry and heap around the flood.
	Registry *Registry `json:"registry,omitempty"`
}

// Check is one of the project's performance targets, measured.
type Check struct {
	// Target is the target measured, the suite's first: it tells apart the
	// checks of two suites (such as pinned and shared) in one summary.
	Target string `json:"target"`
	Name   string `json:"name"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Pass   bool   `json:"pass"`
}

// Summary is the outcome of a suite.
type Summary struct {
	Started  time.Time          `json:"started"`
	Runs     []Record           `json:"runs"`
	Capacity map[string]float64 `json:"capacity,omitempty"`
	Checks   []Check            `json:"checks"`
	// Notes explain figures, such as generator lag.
	Notes []string `json:"notes,omitempty"`
}

// Run executes the scenarios and returns every run and check. It stops early,
// with what it has, when ctx is cancelled.
func (s *Suite) Run(ctx context.Context) (*Summary, error) {
	names := s.Scenarios
	if names == nil {
		names = Standard
	}
	if err := CheckNames(names); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	if want[ScenarioOverload] {
		want[ScenarioCapacity] = true
	}
	sum := &Summary{Started: time.Now(), Capacity: map[string]float64{}}
	for _, name := range All {
		if !want[name] || ctx.Err() != nil {
			continue
		}
		for i, t := range s.Targets {
			if ctx.Err() != nil || (i > 0 && serviceOnly(name)) {
				break
			}
			if err := s.scenario(ctx, name, t, sum); err != nil {
				return sum, err
			}
		}
	}
	s.check(sum)
	return sum, nil
}

// attack runs a (its name, URL, pacer, duration and Distinct) against t and
// appends it to sum.
func (s *Suite) attack(ctx context.Context, sum *Summary, scenario string, t Target, a Attack) (*Result, error) {
	a.Budget, a.Progress, a.CallerSlack = s.budget(), s.Progress, s.CallerSlack
	name, d := a.Name, a.Duration
	run := Record{Scenario: scenario, Target: t.Name}
	var wg sync.WaitGroup
	if s.ProfileDir != "" && t.Admin != "" && d >= time.Second {
		run.Profile = filepath.Join(s.ProfileDir, fileName(t.Name+"-"+name)+".cpu.pprof")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := CaptureProfile(ctx, t.Admin, int(math.Round(d.Seconds())), run.Profile); err != nil {
				run.Profile = ""
			}
		}()
	}
	res, err := Run(ctx, a)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	run.Result = res
	sum.Runs = append(sum.Runs, run)
	if lag := res.Generator; lag.Behind > res.Requests/100 {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s %s: the generator fell behind for %d of %d requests (max lag %.1f ms); that lag counts as latency",
			t.Name, name, lag.Behind, res.Requests, lag.MaxLagMs))
	}
	return res, nil
}

func (s *Suite) budget() time.Duration { return cmpOr(s.Budget, DefaultBudget) }

// dur picks the standard or the quick length of a run.
func (s *Suite) dur(standard time.Duration) time.Duration {
	if s.Quick {
		return min(standard, 500*time.Millisecond)
	}
	return standard
}

// numbersURL is the target's /numbers URL asking for the given upstreams.
func numbersURL(base string, upstreams []string) string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("/numbers")
	for i, u := range upstreams {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString("u=")
		b.WriteString(url.QueryEscape(u))
	}
	return b.String()
}

// fileName makes a label safe as a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}
