package bench

import (
	"net/url"
	"strings"
	"testing"
)

// TestFloodHosts: every request names floodPerReq hosts, loopback but never
// the simulator's own address, none named twice across the flood.
func TestFloodHosts(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []uint64{0, 1, 3276, 3277, 4999} {
		raw := string(floodURL(nil, "http://127.0.0.1:1", "9", i))
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		us := u.Query()["u"]
		if len(us) != floodPerReq {
			t.Fatalf("%d u values; want %d", len(us), floodPerReq)
		}
		for _, v := range us {
			up, err := url.Parse(v)
			if err != nil || !isLoopback(up.Hostname()) || up.Hostname() == "127.0.0.1" || up.Port() != "9" {
				t.Errorf("upstream %q: want a loopback host other than 127.0.0.1 on port 9", v)
			}
			if seen[up.Host] {
				t.Errorf("host %s named twice", up.Host)
			}
			seen[up.Host] = true
		}
	}
}

func TestHealthChecks(t *testing.T) {
	cases := []struct {
		rec  Record
		pass bool
	}{
		{Record{Scenario: ScenarioDeadHost, Result: &Result{Name: "dead-host@200", Latency: Latency{P50: 1.2}, Completeness: 0.75}}, true},
		{Record{Scenario: ScenarioDeadHost, Result: &Result{Name: "dead-host@200", Latency: Latency{P50: 491}, Completeness: 0.75}}, false},
		{Record{Scenario: ScenarioHealing, Result: &Result{Name: "healing-up@200", LastIncompleteS: 1.1}}, true},
		{Record{Scenario: ScenarioHealing, Result: &Result{Name: "healing-up@200", LastIncompleteS: 3.9}}, false},
		{Record{Scenario: ScenarioStall, UpstreamPerURL: 1.04, Result: &Result{Name: "stall@200", Responses: 100, Complete: 99, Latency: Latency{P99: 9}}}, true},
		{Record{Scenario: ScenarioStall, UpstreamPerURL: 1.0, Result: &Result{Name: "stall@200", Responses: 100, Complete: 86, Latency: Latency{P99: 492}}}, false},
		{Record{Scenario: ScenarioFlood, Registry: &Registry{HostsAfter: 10_000}, Result: &Result{Name: "flood@500"}}, true},
		{Record{Scenario: ScenarioFlood, Registry: &Registry{HostsAfter: 100_000}, Result: &Result{Name: "flood@500"}}, false},
		{Record{Scenario: ScenarioFlood, Result: &Result{Name: "flood@500"}}, false},
	}
	for _, tc := range cases {
		var got []Check
		(&Suite{}).checkHealth(tc.rec, func(name, want, gotText string, pass bool) {
			got = append(got, Check{Name: name, Want: want, Got: gotText, Pass: pass})
		})
		if len(got) != 1 || got[0].Pass != tc.pass {
			t.Errorf("%s: checks %+v; want one, pass %v", tc.rec.Result.Name, got, tc.pass)
		}
		if len(got) == 1 && !strings.Contains(got[0].Name, tc.rec.Result.Name) {
			t.Errorf("check named %q", got[0].Name)
		}
	}
}
