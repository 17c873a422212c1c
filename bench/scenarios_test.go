package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestScenarioSets(t *testing.T) {
	for _, set := range [][]string{Standard, StandardShared, Health} {
		if err := CheckNames(set); err != nil {
			t.Errorf("%v: %v", set, err)
		}
	}
	if err := CheckNames([]string{ScenarioSoak, "nope"}); !errors.Is(err, ErrScenario) {
		t.Errorf("err %v, want ErrScenario", err)
	}
	for _, sc := range All {
		wantDistinct := sc == ScenarioClassicDistinct || sc == ScenarioCPUOverload || sc == ScenarioSoak ||
			sc == ScenarioDeadHost || sc == ScenarioHealing || sc == ScenarioStall
		if distinct(sc) != wantDistinct {
			t.Errorf("%s: distinct %v", sc, distinct(sc))
		}
		if !slices.Contains(Standard, sc) && !slices.Contains(StandardShared, sc) && !slices.Contains(Health, sc) {
			t.Errorf("%s is in no standard set", sc)
		}
	}
	if !slices.Contains(Standard, ScenarioClassicDistinct) || !slices.Contains(StandardShared, ScenarioClassicDistinct) {
		t.Error("classic-distinct runs both pinned and shared")
	}
}

// fakeRuns is a runFunc that records the attacks asked for and answers each
// with a Result that holds at rates up to limit.
type fakeRuns struct {
	limit  float64
	sum    *Summary
	labels []string
	durs   []time.Duration
}

func (f *fakeRuns) run(label string, p Pacer, d time.Duration) (*Result, error) {
	f.labels, f.durs = append(f.labels, label), append(f.durs, d)
	rate := p.Rate(0)
	r := &Result{Name: label, Rate: rate, Requests: 10, Responses: 10, Latency: Latency{P99: 1}, Completeness: 1}
	if rate > f.limit {
		r.Errors = map[string]uint64{statusKind(503): 1}
	}
	f.sum.Runs = append(f.sum.Runs, Record{Scenario: ScenarioCPUOverload, Target: "svc", Result: r})
	return r, nil
}

func TestCPUOverloadSteps(t *testing.T) {
	// durs holds the lengths wanted of some runs, by index; zero: any.
	cases := []struct {
		name, labels string
		quick        bool
		capacity     float64
		durs         []time.Duration
	}{
		{"standard",
			"cpu-capacity@25 cpu-capacity@50 cpu-capacity@100 cpu-capacity@200 cpu-capacity@400 cpu-capacity@300 cpu-capacity@350 " +
				"cpu-overload-2x@600 cpu-overload-4x@1200 cpu-overload-8x@2400 cpu-recovery@150", false, 300,
			[]time.Duration{7: 3 * time.Second, 8: 3 * time.Second, 9: 3 * time.Second, 10: 3 * time.Second}},
		{"quick",
			"cpu-capacity@25 cpu-capacity@50 cpu-capacity@100 cpu-overload-2x@200 cpu-overload-4x@400 cpu-overload-8x@800 cpu-recovery@50", true, 100,
			[]time.Duration{3: 500 * time.Millisecond, 4: 500 * time.Millisecond, 5: 500 * time.Millisecond, 6: 2 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sum := &Summary{Capacity: map[string]float64{}}
			f := &fakeRuns{limit: 300, sum: sum}
			s := &Suite{Quick: tc.quick}
			if err := s.cpuOverload(context.Background(), Target{Name: "svc"}, sum, f.run); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.labels, " "); got != tc.labels {
				t.Fatalf("runs\n%s\nwant\n%s", got, tc.labels)
			}
			for i, d := range tc.durs {
				if d != 0 && f.durs[i] != d {
					t.Errorf("%s: %v, want %v", f.labels[i], f.durs[i], d)
				}
			}
			if got := sum.Capacity["svc cpu-overload"]; got != tc.capacity {
				t.Errorf("capacity %v, want %v", got, tc.capacity)
			}
		})
	}
}

// metricsServer serves a /metrics page whose RSS grows by 1 MiB and
// goroutines by 10 at every read, from 100 MiB and 10; read receives the
// number of every read.
func metricsServer(t *testing.T, read chan<- int) string {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n"+
			"go_gc_duration_seconds{quantile=\"0\"} 1.2e-05\nprocess_resident_memory_bytes %e\n", 10*i, float64(100+i-1)*(1<<20))
		select {
		case read <- i:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestReadSample(t *testing.T) {
	admin := metricsServer(t, nil)
	smp, err := ReadSample(context.Background(), admin)
	if err != nil || smp.RSSBytes != 100<<20 || smp.Goroutines != 10 {
		t.Fatalf("%+v %v", smp, err)
	}
	if _, err := ReadSample(context.Background(), admin+"/nope"); !errors.Is(err, ErrMetrics) {
		t.Errorf("404: err %v, want ErrMetrics", err)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "go_goroutines 3") }))
	defer bare.Close()
	if _, err := ReadSample(context.Background(), bare.URL); !errors.Is(err, ErrMetrics) {
		t.Errorf("no RSS: err %v, want ErrMetrics", err)
	}
}

// TestSoakMemory runs the soak's sampling around a fake attack that lasts
// until the half-way sample was read.
func TestSoakMemory(t *testing.T) {
	read := make(chan int, 8)
	admin := metricsServer(t, read)
	sum := &Summary{}
	s := &Suite{Quick: true, SoakDuration: 100 * time.Millisecond}
	var label string
	var dur time.Duration
	run := func(l string, p Pacer, d time.Duration) (*Result, error) {
		label, dur = l, d
		for i := range read {
			if i == 2 { // the half-way sample
				break
			}
		}
		r := &Result{Name: l, Rate: p.Rate(0)}
		sum.Runs = append(sum.Runs, Record{Scenario: ScenarioSoak, Target: "svc", Result: r})
		return r, nil
	}
	if err := s.soak(context.Background(), Target{Name: "svc", Admin: admin}, sum, run); err != nil {
		t.Fatal(err)
	}
	if label != "soak@1500" || dur != 100*time.Millisecond {
		t.Errorf("ran %s for %v", label, dur)
	}
	m := sum.Runs[0].Memory
	if m == nil {
		t.Fatalf("no memory; notes %v", sum.Notes)
	}
	if m.rss() != "100.0 / 101.0 / 102.0 / 103.0" || m.goroutines() != "10 / 20 / 30 / 40" || m.Settled.AtS < m.End.AtS+1 {
		t.Errorf("memory %+v", m)
	}
}

// TestSoakServiceOnly runs a short soak against a service and a baseline:
// only the service is attacked, each request with upstream URLs of its own.
func TestSoakServiceOnly(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	count := func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		for _, u := range ctx.QueryArgs().PeekMulti("u") {
			seen[string(u)]++
		}
		mu.Unlock()
		answerInstantly(ctx)
	}
	svc := strings.TrimSuffix(loopbackServer(t, count), "/numbers")
	base := strings.TrimSuffix(loopbackServer(t, count), "/numbers")
	s := &Suite{Targets: []Target{{Name: "svc", URL: svc}, {Name: "base", URL: base}}, Upstream: "http://127.0.0.1:1",
		Scenarios: []string{ScenarioSoak}, SoakDuration: 100 * time.Millisecond}
	sum, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 1 || sum.Runs[0].Target != "svc" || sum.Runs[0].Result.Requests != 150 {
		t.Fatalf("runs %+v", sum.Runs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4*150 {
		t.Errorf("%d distinct upstream URLs, want %d", len(seen), 4*150)
	}
}

func TestChecksNewScenarios(t *testing.T) {
	shed := func(r *Result, n uint64) *Result {
		r.Errors = map[string]uint64{statusKind(503): n}
		return r
	}
	withComplete := func(r *Result, c float64) *Result { r.Completeness = c; return r }
	good := func(r *Result, g float64) *Result { r.Goodput = g; return r }
	recovering := func(r *Result, n uint64, after float64) *Result {
		r.Errors, r.ErrorFreeAfterS = map[string]uint64{statusKind(503): n}, after
		return r
	}
	rec := func(scenario string, r *Result) Record {
		return Record{Scenario: scenario, Target: "service", Result: r}
	}
	mib := func(n float64) Sample { return Sample{RSSBytes: n * (1 << 20), Goroutines: 20} }
	soak := rec(ScenarioSoak, result("soak@1500", 1500, 480, 0, nil))
	soak.Memory = &Memory{Start: mib(30), Mid: mib(100), End: mib(120), Settled: mib(110)}
	sum := &Summary{
		Capacity: map[string]float64{"service cpu-overload": 300},
		Runs: []Record{
			rec(ScenarioClassicDistinct, withComplete(result("classic-distinct@500", 500, 499, 0, nil), 0.80)),
			rec(ScenarioClassicDistinct, withComplete(result("classic-distinct@1000", 1000, 499, 0, nil), 0.70)),
			rec(ScenarioClassicDistinct, result("classic-distinct@2000", 2000, 499, 1, nil)),
			rec(ScenarioClassicDistinct, shed(withComplete(result("classic-distinct@3000", 3000, 499, 0, nil), 0.79), 100)),
			{Scenario: ScenarioClassicDistinct, Target: "baseline", Result: result("classic-distinct@500", 500, 900, 50, nil)},
			rec(ScenarioCPUOverload, withComplete(result("cpu-capacity@300", 300, 20, 0, nil), 1)),
			rec(ScenarioCPUOverload, shed(withComplete(result("cpu-overload-4x@1200", 1200, 400, 0, nil), 0.99), 700)),
			rec(ScenarioCPUOverload, good(shed(withComplete(result("cpu-overload-8x@2400", 2400, 400, 0, nil), 0.99), 2000), 140)),
			rec(ScenarioCPUOverload, recovering(result("cpu-recovery@150", 150, 30, 0, nil), 3, 0.4)),
			rec(ScenarioCPUOverload, recovering(result("cpu-recovery@151", 151, 30, 0, nil), 3, 1.2)),
			soak,
		},
	}
	(&Suite{Targets: []Target{{Name: "service"}, {Name: "baseline"}}}).check(sum)
	want := map[string]bool{
		"classic-distinct@500":         true,
		"classic-distinct@1000":        false, // incomplete
		"classic-distinct@2000":        false, // late
		"classic-distinct@3000":        true,  // 503s past capacity are fine
		"cpu-overload-4x@1200":         true,
		"cpu-overload-8x@2400":         true,
		"cpu-overload-8x@2400 goodput": false, // 140/s < 150/s
		"cpu-recovery@150":             true,
		"cpu-recovery@151":             false, // an error after 1s
		"soak@1500":                    true,
		"soak@1500 memory":             true, // 120 MiB <= 1.25 x 100 MiB
	}
	if len(sum.Checks) != len(want) {
		t.Errorf("%d checks, want %d: %+v", len(sum.Checks), len(want), sum.Checks)
	}
	for _, c := range sum.Checks {
		if pass, ok := want[c.Name]; !ok || pass != c.Pass {
			t.Errorf("check %+v, want pass=%v", c, pass)
		}
		if !strings.Contains(c.Name, "memory") && !strings.Contains(c.Name, "goodput") && !strings.Contains(c.Got, "from actual send") {
			t.Errorf("check %s does not count late three ways: %s", c.Name, c.Got)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, sum); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"good/s", "service cpu-overload 300 req/s", "soak@1500: RSS 30.0 / 100.0 / 120.0 / 110.0 MiB"} {
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}

	// Without memory samples the soak's memory target is missed.
	sum = &Summary{Runs: []Record{rec(ScenarioSoak, result("soak@1500", 1500, 480, 0, nil))}}
	(&Suite{Targets: []Target{{Name: "service"}}}).check(sum)
	if len(sum.Checks) != 2 || sum.Checks[1].Name != "soak@1500 memory" || sum.Checks[1].Pass {
		t.Errorf("checks %+v", sum.Checks)
	}
}
