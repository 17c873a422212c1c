// health.go is the scenarios of upstream health and tail-cutting:
// a dead host, a healing host, stalling upstreams and a flood of distinct
// hosts, and their targets.

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The health scenarios.
const (
	// ScenarioDeadHost: three fast upstreams and one on a second host that
	// accepts and never answers.
	ScenarioDeadHost = "dead-host"
	// ScenarioHealing: the same, the second host down for a while and then back.
	ScenarioHealing = "healing"
	// ScenarioStall: four upstreams answering in 2-5 ms, each stalling 2 s
	// one request in 33.
	ScenarioStall = "stall"
	// ScenarioFlood: every request names 10 hosts never named before,
	// 100,000 in all.
	ScenarioFlood = "flood"
)

// Health is the set of health scenarios (bench/cmd/bench -scenarios health).
var Health = []string{ScenarioDeadHost, ScenarioHealing, ScenarioStall, ScenarioFlood}

// The health scenarios' load and the targets.
const (
	healthRate     = 200
	wantEjectedP50 = 20 * time.Millisecond
	wantBackWithin = 2 * time.Second
	wantComplete   = 0.98
	wantStallP99   = 50 * time.Millisecond
	wantPerURL     = 1.10
	floodRate      = 500
	floodPerReq    = 10
	floodTime      = 20 * time.Second
	// floodCap is the service's default outlier-max-hosts (a tuning setting).
	floodCap = 10_000
)

// Registry is the service's health registry and heap around the flood.
type Registry struct {
	HostsBefore float64 `json:"hosts_before"`
	HostsAfter  float64 `json:"hosts_after"`
	HeapBefore  float64 `json:"heap_before_bytes"`
	HeapAfter   float64 `json:"heap_after_bytes"`
}

// healthUpstreams returns the health scenarios' upstream URLs: three fast
// ones on the simulator and one on the second host, dead or flaky, for
// dead-host and healing; four stalling ones for stall.
func (s *Suite) healthUpstreams(scenario string) []string {
	u := s.Upstream
	switch scenario {
	case ScenarioStall:
		const stall = "/numbers?n=20&max=100%d&dist=uniform&lo=2ms&hi=5ms&mode=stall&p=0.03&stall=2s"
		return []string{u + fmt.Sprintf(stall, 0), u + fmt.Sprintf(stall, 1), u + fmt.Sprintf(stall, 2), u + fmt.Sprintf(stall, 3)}
	case ScenarioDeadHost, ScenarioHealing:
		second := s.DeadHost
		if scenario == ScenarioHealing {
			second = s.Flaky
		}
		return []string{u + "/numbers?n=20&max=1000", u + "/numbers?n=20&max=1001", u + "/numbers?n=20&max=1002", second + "/numbers?n=20&max=1003"}
	}
	return nil
}

// healthScenario runs one health scenario against t.
func (s *Suite) healthScenario(ctx context.Context, name string, t Target, sum *Summary, run runFunc) error {
	rate := ConstantPacer{Freq: healthRate}
	switch name {
	case ScenarioDeadHost:
		_, err := run(fmt.Sprintf("dead-host@%d", healthRate), rate, s.dur(5*time.Second))
		return err
	case ScenarioHealing:
		if s.SetFlakyDown == nil {
			sum.Notes = append(sum.Notes, "healing: no flaky host to take down (Suite.SetFlakyDown)")
			return nil
		}
		s.SetFlakyDown(true)
		if _, err := run(fmt.Sprintf("healing-down@%d", healthRate), rate, s.dur(3*time.Second)); err != nil {
			s.SetFlakyDown(false)
			return err
		}
		s.SetFlakyDown(false)
		_, err := run(fmt.Sprintf("healing-up@%d", healthRate), rate, s.dur(4*time.Second))
		return err
	case ScenarioStall:
		before, berr := upstreamRequests(ctx, s.Upstream)
		res, err := run(fmt.Sprintf("stall@%d", healthRate), rate, s.dur(10*time.Second))
		if err != nil {
			return err
		}
		after, aerr := upstreamRequests(ctx, s.Upstream)
		if berr == nil && aerr == nil && res.Responses > 0 {
			sum.Runs[len(sum.Runs)-1].UpstreamPerURL = float64(after-before) / float64(4*res.Responses)
		}
		return nil
	case ScenarioFlood:
		return s.flood(ctx, t, sum)
	}
	return nil
}

// flood sends requests naming floodPerReq hosts each, all distinct
// (127.A.B.C on the simulator's port, where nothing listens: each is
// refused at once), and reads the service's registry and heap around it.
func (s *Suite) flood(ctx context.Context, t Target, sum *Summary) error {
	up, err := url.Parse(s.Upstream)
	if err != nil {
		return fmt.Errorf("%w: flood: upstream %q: %w", ErrAttack, s.Upstream, err)
	}
	port := up.Port()
	urls := func(dst []byte, i uint64) []byte { return floodURL(dst, t.URL, port, i) }
	var before Sample
	if t.Admin != "" {
		before, _ = ReadSample(ctx, t.Admin)
	}
	name := fmt.Sprintf("flood@%d", floodRate)
	_, err = s.attack(ctx, sum, ScenarioFlood, t, Attack{Name: name, URL: t.URL + "/numbers", URLs: urls,
		Pacer: ConstantPacer{Freq: floodRate}, Duration: s.dur(floodTime)})
	if err != nil || t.Admin == "" {
		return err
	}
	after, err := ReadSample(ctx, t.Admin)
	if err != nil {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%s flood: registry not sampled: %v", t.Name, err))
		return nil
	}
	sum.Runs[len(sum.Runs)-1].Registry = &Registry{
		HostsBefore: before.HealthHosts, HostsAfter: after.HealthHosts,
		HeapBefore: before.HeapBytes, HeapAfter: after.HeapBytes,
	}
	return nil
}

// floodURL appends to dst request i's /numbers URL on target: floodPerReq
// upstreams, each on a host of its own, 127.A.B.C with A at least 1 (never
// 127.0.0.1, where the simulator listens) on port, where nothing listens.
func floodURL(dst []byte, target, port string, i uint64) []byte {
	dst = append(dst, target...)
	dst = append(dst, "/numbers?"...)
	for j := range uint64(floodPerReq) {
		h := i*floodPerReq + j
		if j > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, "u=http%3A%2F%2F127."...)
		dst = strconv.AppendUint(dst, 1+h>>16%255, 10)
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, h>>8&0xff, 10)
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, h&0xff, 10)
		dst = append(dst, "%3A"...)
		dst = append(dst, port...)
		dst = append(dst, "%2Fnumbers"...)
	}
	return dst
}

// upstreamRequests reads the simulator's count of requests served.
func upstreamRequests(ctx context.Context, base string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Total uint64 `json:"total"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st.Total, err
}

// checkHealth adds the targets of the health scenarios.
func (s *Suite) checkHealth(rec Record, add func(name, want, got string, pass bool)) {
	r := rec.Result
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	switch {
	case rec.Scenario == ScenarioDeadHost:
		add(r.Name, fmt.Sprintf("p50 < %g ms, 0 late, the other three upstreams in the answers", ms(wantEjectedP50)),
			fmt.Sprintf("p50 %.2f ms, %s, completeness %.3f", r.Latency.P50, lateText(r), r.Completeness),
			r.Latency.P50 < ms(wantEjectedP50) && r.Late == 0 && r.Completeness >= 0.74)
	case rec.Scenario == ScenarioHealing && r.Name == fmt.Sprintf("healing-up@%d", healthRate):
		add(r.Name, fmt.Sprintf("back in the answers within %v of healing, 0 late", wantBackWithin),
			fmt.Sprintf("last incomplete answer due at %.2f s, %s, %d of %d complete", r.LastIncompleteS, lateText(r), r.Complete, r.Responses),
			r.LastIncompleteS <= wantBackWithin.Seconds() && r.Late == 0)
	case rec.Scenario == ScenarioStall:
		share := 0.0
		if r.Responses > 0 {
			share = float64(r.Complete) / float64(r.Responses)
		}
		add(r.Name, fmt.Sprintf("complete >= %.2f, p99 < %g ms, <= %.2f upstream requests per URL", wantComplete, ms(wantStallP99), wantPerURL),
			fmt.Sprintf("complete %.3f, p99 %.2f ms, %.3f per URL, %s", share, r.Latency.P99, rec.UpstreamPerURL, lateText(r)),
			share >= wantComplete && r.Latency.P99 < ms(wantStallP99) && rec.UpstreamPerURL > 0 && rec.UpstreamPerURL <= wantPerURL)
	case rec.Scenario == ScenarioFlood:
		g := rec.Registry
		if g == nil {
			add(r.Name, "registry bounded", "not sampled (see the notes)", false)
			return
		}
		add(r.Name, fmt.Sprintf("registry bounded: <= %d hosts tracked after %d distinct", floodCap, int(floodRate*floodPerReq*floodTime.Seconds())),
			fmt.Sprintf("%.0f -> %.0f hosts; heap in use %.1f -> %.1f MiB; %s", g.HostsBefore, g.HostsAfter, g.HeapBefore/(1<<20), g.HeapAfter/(1<<20), lateText(r)),
			g.HostsAfter <= floodCap)
	}
}
