package main

import (
	"io"
	"testing"

	"go.uber.org/goleak"

	"numbers/source"
)

func TestHealthFlags(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cases := []struct {
		name          string
		args          []string
		env           map[string]string
		health, hedge bool
		retry, budget bool
		wantErr       bool
	}{
		{"defaults", nil, nil, true, true, true, true, false},
		{"all off", []string{"-health=false", "-hedge=false", "-retry=false"}, nil, false, false, false, false, false},
		{"health off keeps retries", []string{"-health=false"}, nil, false, true, true, true, false},
		{"env twin", nil, map[string]string{"NUMBERS_HEDGE": "false", "NUMBERS_RETRY": "false"}, true, false, false, false, false},
		{"thresholds off", []string{"-health-failures", "0", "-health-failure-rate", "0", "-retry-budget-min", "0"}, nil, true, true, true, true, false},
		{"negative failures", []string{"-health-failures", "-1"}, nil, false, false, false, false, true},
		{"rate over 1", []string{"-health-failure-rate", "1.5"}, nil, false, false, false, false, true},
		{"ejection over its cap", []string{"-health-ejection", "1m", "-health-max-ejection", "30s"}, nil, false, false, false, false, true},
		{"no probes", []string{"-health-probe-interval", "0"}, nil, false, false, false, false, true},
		{"no hosts", []string{"-health-max-hosts", "0"}, nil, false, false, false, false, true},
		{"no budget", []string{"-retry-budget", "0"}, nil, false, false, false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			cfg, err := parseConfig(tc.args, env(tc.env), io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			var sc source.Config
			reg, stop := cfg.health.wire(&sc)
			if stop != nil {
				defer stop()
			}
			if (reg != nil) != tc.health || (sc.Health != nil) != tc.health {
				t.Errorf("registry %v; want %v", reg != nil, tc.health)
			}
			if sc.Hedge != tc.hedge || sc.Retry != tc.retry || (sc.Budget != nil) != tc.budget {
				t.Errorf("hedge %v, retry %v, budget %v; want %v, %v, %v", sc.Hedge, sc.Retry, sc.Budget != nil, tc.hedge, tc.retry, tc.budget)
			}
		})
	}
}

// TestServiceStopsTheSweeper: newService starts the registry's sweeper and
// close stops it.
func TestServiceStopsTheSweeper(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg, err := parseConfig([]string{"-calibrate=false", "-admin", ""}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.close()
}
