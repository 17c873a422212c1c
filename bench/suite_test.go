package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNumbersURL(t *testing.T) {
	got := numbersURL("http://127.0.0.1:1", []string{"http://h/a?x=1&y=2", "http://h/b"})
	want := "http://127.0.0.1:1/numbers?u=http%3A%2F%2Fh%2Fa%3Fx%3D1%26y%3D2&u=http%3A%2F%2Fh%2Fb"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestUpstreamsDistinct(t *testing.T) {
	s := &Suite{Upstream: "http://127.0.0.1:1"}
	for _, sc := range All {
		t.Run(sc, func(t *testing.T) {
			seen := map[string]bool{}
			for _, u := range s.upstreams(sc) {
				if seen[u] || strings.Contains(u, "seed=") {
					t.Fatalf("%s: duplicate or seeded upstream %s", sc, u)
				}
				seen[u] = true
			}
			if len(seen) != 4 {
				t.Fatalf("%d upstreams, want 4", len(seen))
			}
		})
	}
}

func TestCompletenessLimit(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		budget   time.Duration
		want     float64
	}{
		{ScenarioClassic, 555 * time.Millisecond, 0.9},
		{ScenarioClassic, 280 * time.Millisecond, 0.45},
		{ScenarioClassic, time.Second, 0.9},
		{ScenarioLongTail, 100 * time.Millisecond, 0.5},
		{ScenarioLongTail, 1500 * time.Millisecond, 0.99},
		{ScenarioHostile, DefaultBudget, 0.25},
	} {
		t.Run(tc.scenario+"/"+tc.budget.String(), func(t *testing.T) {
			got, ok := CompletenessLimit(tc.scenario, tc.budget)
			if !ok || math.Abs(got-tc.want) > 1e-4 {
				t.Fatalf("got %v %v, want %v", got, ok, tc.want)
			}
		})
	}
	if _, ok := CompletenessLimit("nope", time.Second); ok {
		t.Fatal("unknown scenario has a limit")
	}
}

func result(name string, rate, p99 float64, late uint64, errs map[string]uint64) *Result {
	return &Result{Name: name, Rate: rate, Requests: 10, Responses: 10, Latency: Latency{P99: p99}, Late: late, Errors: errs, Completeness: 0.81}
}

// withErrors gives r n 503s, the last due at last seconds into the run.
func withErrors(r *Result, n uint64, last float64) *Result {
	r.Errors = map[string]uint64{statusKind(503): n}
	r.ErrorFreeAfterS = last
	return r
}

func TestChecks(t *testing.T) {
	s := &Suite{Targets: []Target{{Name: "service"}, {Name: "baseline"}}}
	sum := &Summary{
		Capacity: map[string]float64{"service": 6000, "baseline": 1000},
		Runs: []Record{
			{Scenario: ScenarioCapacity, Target: "service", Result: result("capacity@1000", 1000, 1.5, 0, nil)},
			{Scenario: ScenarioClassic, Target: "service", Result: result("classic@1000", 1000, 499, 0, nil)},
			{Scenario: ScenarioClassic, Target: "service", Result: result("classic@5000", 5000, 499, 7, nil)}, // above 80% of capacity: not checked
			{Scenario: ScenarioClassic, Target: "baseline", Result: result("classic@1000", 1000, 499, 3, nil)},
			{Scenario: ScenarioOverload, Target: "service", Result: result("overload@12000", 12000, 499, 1, nil)},
			{Scenario: ScenarioOverload, Target: "service", Result: result("recovery@3000", 3000, 2, 0, nil)},
			// Errors only in the first second after the overload: recovered.
			{Scenario: ScenarioOverload, Target: "service", Result: withErrors(result("recovery@3001", 3001, 2, 0, nil), 18, 0.18)},
			// Errors until the step's end: not recovered.
			{Scenario: ScenarioOverload, Target: "service", Result: withErrors(result("recovery@3002", 3002, 2, 0, nil), 163, 2.99)},
		},
	}
	s.check(sum)
	want := map[string]bool{
		"capacity, 4 instant upstreams":    true,
		"p99 at 1000/s, instant upstreams": true,
		"classic@1000":                     true,
		"overload@12000":                   false,
		"recovery@3000":                    true,
		"recovery@3001":                    true,
		"recovery@3002":                    false,
	}
	if len(sum.Checks) != len(want) {
		t.Fatalf("checks %+v", sum.Checks)
	}
	for _, c := range sum.Checks {
		if pass, ok := want[c.Name]; !ok || pass != c.Pass {
			t.Errorf("check %+v, want pass=%v", c, pass)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, sum); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"capacity@1000", "MISS  service  overload@12000", "6000 req/s", "6.0x"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}

func TestHeld(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Result
		want bool
	}{
		{"fast", result("a", 1, 49, 0, nil), true},
		{"slow", result("a", 1, 51, 0, nil), false},
		{"errors", result("a", 1, 1, 0, map[string]uint64{"status_503": 1}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := held(tc.r); got != tc.want {
				t.Fatalf("held = %v", got)
			}
		})
	}
}

func TestSuiteUnknownScenario(t *testing.T) {
	s := &Suite{Scenarios: []string{"nope"}}
	if _, err := s.Run(context.Background()); !errors.Is(err, ErrScenario) {
		t.Fatalf("err %v, want ErrScenario", err)
	}
}

// TestSuiteQuick runs the quick big scenario (10/s for half a second, five
// requests) against the instant server, then writes the outputs.
func TestSuiteQuick(t *testing.T) {
	target := strings.TrimSuffix(instantServer(t), "/numbers")
	s := &Suite{Targets: []Target{{Name: "fake", URL: target}}, Upstream: "http://127.0.0.1:1", Scenarios: []string{ScenarioBig}, Quick: true}
	sum, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 1 || sum.Runs[0].Result.Responses != 5 {
		t.Fatalf("runs %+v", sum.Runs)
	}
	dir := t.TempDir()
	files, err := WritePlots(dir, sum)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("plots %v", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 || filepath.Ext(f) != ".png" {
			t.Fatalf("plot %s: %v", f, err)
		}
	}
	var b strings.Builder
	if err := WriteJSON(&b, sum); err != nil || !strings.Contains(b.String(), `"p99_ms"`) {
		t.Fatalf("json %v: %s", err, b.String())
	}
}
